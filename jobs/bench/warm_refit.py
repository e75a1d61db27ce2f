"""``python -m jobs.bench.warm_refit``: does the champion's refit from its holdout fit match a cold refit?

The nightly fits each candidate on the holdout's training part, then refits the champion on all the data. iALS
starts that refit from the factors it already has (``IALSConfig.refit_iterations`` passes instead of
``iterations`` from random factors). This checks the shortcut on the seeded benchmark data (``--size``, the
generator of ``make bench``) one day further back, so that the refit has a future to be judged on:

- "all data" is everything before the latest 10 % of the ratings (the pipeline's global holdout, window 0), and
  the holdout fit is the fit on everything before the 10 % before that (window 1), as a night would have made it;
- the cold refit (``iterations`` from random factors) and each warm refit (``refit_iterations`` from the holdout
  fit's factors) are judged on window 0: nDCG@10 and recall@10 over its users, the paired per-user difference
  against the cold refit with its standard error, and the refit's seconds.

The table goes to ``--out`` between ``<!-- warm_refit:start -->`` and ``<!-- warm_refit:end -->``.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from jobs.bench.data import IALS_PARAMS
from jobs.bench.page import machine_text, write_section
from jobs.sample.data import DEFAULT_END_DATE, SIZES
from jobs.sample.world import ratings_arrays
from models.base import Interactions, TrainOptions
from models.evaluation import evaluate
from models.ials import IALS, IALSConfig
from models.splits import temporal_split

START, END = "<!-- warm_refit:start -->", "<!-- warm_refit:end -->"
FRACTION, CUTOFFS, DAYS = 0.1, (10,), 42


def load(size: str, seed: int = 42) -> tuple[Interactions, np.ndarray]:
    """The seeded benchmark ratings of ``size`` as Interactions and their epoch seconds in CSR order."""
    n_ratings, n_users, n_items = SIZES[size]
    arrays = ratings_arrays(n_ratings, n_users, n_items, DAYS, DEFAULT_END_DATE, seed, True)
    users, rows = np.unique(arrays["user_id"], return_inverse=True)
    items, cols = np.unique(arrays["item_id"], return_inverse=True)
    shape = (len(users), len(items))
    # Sum the position + 1 so that each stored entry can find its timestamp after the CSR build sorts them.
    at = sp.csr_matrix((np.arange(1, len(rows) + 1, dtype=np.float64), (rows, cols)), shape=shape)
    at.sum_duplicates()
    matrix = sp.csr_matrix((arrays["rating"][at.data.astype(np.int64) - 1].astype(np.float32), at.indices, at.indptr),
                           shape=shape)
    rated_at = arrays["timestamp"][at.data.astype(np.int64) - 1].astype(np.float64)
    return Interactions(matrix, users.astype(str).astype(object), items.astype(str).astype(object)), rated_at


def judged(model: IALS, split, reference: np.ndarray | None) -> dict[str, float]:
    per_user, summary = evaluate(model, split, CUTOFFS)
    ndcg = per_user["ndcg@10"].to_numpy()
    row = {"ndcg@10": float(ndcg.mean()), "recall@10": float(per_user["recall@10"].mean())}
    if reference is not None:
        diff = ndcg - reference
        row["diff"], row["se"] = float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))
    return row, ndcg


def measure(size: str, refits: tuple[int, ...]) -> dict:
    data, rated_at = load(size)
    window0 = temporal_split(data, rated_at, FRACTION, "global", 0)  # all data = its train part
    window1 = temporal_split(data, rated_at, FRACTION, "global", 1)  # the night's holdout fit = its train part
    # Window 1's train part is window 0's less its latest 10 %: the same users and items, as in a night.
    config = IALSConfig(**IALS_PARAMS)
    options = TrainOptions(seed=42)
    started = time.perf_counter()
    previous = IALS(config).fit(window1.train, options)
    holdout_fit_s = time.perf_counter() - started
    started = time.perf_counter()
    cold = IALS(config).fit(window0.train, options)
    rows = [{"refit": f"cold: {config.iterations} iterations from random factors",
             "seconds": time.perf_counter() - started}]
    quality, reference = judged(cold, window0, None)
    rows[0].update(quality)
    for n in refits:
        started = time.perf_counter()
        warm = IALS(replace(config, refit_iterations=n)).refit(window0.train, previous, options)
        seconds = time.perf_counter() - started
        quality, _ = judged(warm, window0, reference)
        rows.append({"refit": f"warm: {n} iterations from the holdout fit", "seconds": seconds, **quality})
    return {"size": size, "users": data.n_users, "items": data.n_items, "interactions": data.nnz,
            "holdout_fit_s": holdout_fit_s, "test_users": len(window0.test_users), "rows": rows,
            "threads": torch.get_num_threads()}


def render(result: dict, date: str) -> str:
    lines = [
        START,
        "## The champion's refit from its holdout fit (iALS)",
        "",
        f"`python -m jobs.bench.warm_refit --size {result['size']} --out docs/benchmarks.md`, run on {date}; "
        f"{machine_text()}; torch with {result['threads']} thread(s).",
        "",
        f"- Data: the seeded benchmark generator at {result['size']} ({result['interactions']:,} interactions, "
        f"{result['users']:,} users, {result['items']:,} items). All data = everything before the latest 10 % of the "
        "ratings; the holdout fit = iALS fitted on everything before the 10 % before that, as the night before "
        f"would have made it ({result['holdout_fit_s']:.1f} s). Judged on the latest 10 % "
        f"({result['test_users']:,} users): nDCG@10, recall@10, and the paired per-user nDCG@10 difference against "
        "the cold refit with its standard error.",
        f"- iALS params of `make bench`: {IALS_PARAMS}.",
        "",
        "| refit | seconds | nDCG@10 | recall@10 | nDCG@10 - cold (SE) |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in result["rows"]:
        diff = f"{row['diff']:+.4f} ({row['se']:.4f})" if "diff" in row else "–"
        lines.append(f"| {row['refit']} | {row['seconds']:.1f} | {row['ndcg@10']:.4f} | {row['recall@10']:.4f} | {diff} |")
    cold = result["rows"][0]
    for row in result["rows"][1:]:
        within = abs(row["diff"]) <= 2 * row["se"] or abs(row["diff"]) <= 0.01 * cold["ndcg@10"]
        lines.append(f"\n{row['refit']}: {cold['seconds'] / row['seconds']:.1f}x faster than the cold refit, nDCG@10 "
                     f"{100 * row['diff'] / cold['ndcg@10']:+.2f} % ({'within' if within else 'outside'} 1 % or 2 SE).")
    return "\n".join([*lines, END]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.warm_refit", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="5M", choices=sorted(SIZES))
    parser.add_argument("--refits", default="2,4,8", help="comma-separated refit_iterations to try")
    parser.add_argument("--out", type=Path, help="write the section into this markdown file")
    args = parser.parse_args(argv)
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    result = measure(args.size, tuple(int(x) for x in args.refits.split(",")))
    text = render(result, datetime.now(UTC).date().isoformat())
    print(text)
    if args.out:
        write_section(args.out, text, START, END)


if __name__ == "__main__":
    main()
