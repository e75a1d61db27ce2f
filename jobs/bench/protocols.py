"""``make bench-protocols``: do the pipeline's time-based holdout and the benchmark's random test split agree?

The quality benchmark (``jobs.bench.quality``) scores the gate's champion on Microsoft Recommenders' random
per-item split of MovieLens-100K, while the gate and tuning judge models on a time-based holdout of the train
split. This measures, for each family with the params the quality benchmark kept (``<work>/tuned``, else the
defaults), nDCG@10 on the latest ``--windows`` rolling-origin windows of that holdout (each user's latest 10 %,
then the 10 % before, ...) and on the test split, and how well each window's ranking of the families agrees
with the test split's (Kendall's tau). A probe then scores item-kNN and EASE from recency-weighted histories
(the fit unchanged), from a light weighting to recency alone, to show what the time-ordered windows reward and
what it costs on the test split. Models are fitted directly (``models/``), not through the pipeline: the
same data, split and metrics, without the pipeline's minutes. The table goes to ``--out`` between
``<!-- protocols:start -->`` and ``<!-- protocols:end -->``.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import kendalltau

from jobs.bench.movielens import load_ml100k, python_stratified_split, ranking_metrics
from jobs.bench.page import machine_text, write_section
from jobs.config import PROJECT_ROOT
from models.base import Interactions, Recommender, TrainOptions
from models.evaluation import evaluate, metric_value, top_items
from models.registry import MODELS, build
from models.splits import temporal_split

#: Every family of the registry but two_tower, whose fits (minutes each on 2 cores, one per window) would make
#: this probe of the protocols cost more than the quality benchmark itself.
FAMILIES = tuple(name for name in MODELS if name != "two_tower")
START, END = "<!-- protocols:start -->", "<!-- protocols:end -->"
K, SEED, FRACTION = 10, 42, 0.1
#: The probe: families whose scores are ``history @ weights``, and the half-life of its recency weighting
#: (a MovieLens rating sitting lasts minutes).
PROBE_FAMILIES, PROBE_HALF_LIFE_S = ("itemknn", "ease"), 600.0
#: The probe's weightings, a rating's weight ``base + 2^(-age / half-life)``: from plain history mixed with
#: recency (base 1) to recency alone (base 0). Scores are linear in the history, so only the ratio counts.
PROBE_BASES = (1.0, 0.25, 0.0)

log = logging.getLogger("recs.bench_protocols")


def interactions(train: pd.DataFrame, items: pd.DataFrame) -> tuple[Interactions, np.ndarray]:
    """The train split as Interactions (ratings as values, item features attached) and rated_at in CSR order."""
    data = Interactions.from_frame(train)
    # CSR order is (user, item) in sorted id order; float64 keeps epoch seconds exact (the matrix is float32).
    keys = train.assign(user_id=train["user_id"].astype(str), item_id=train["item_id"].astype(str))
    rated_at = keys.sort_values(["user_id", "item_id"])["timestamp"].to_numpy(np.float64)
    features = items.assign(item_id=items["item_id"].astype(str)).set_index("item_id").reindex(data.item_ids)
    return replace(data, item_features=features, rated_at=rated_at), rated_at


def kept_params(work: Path, family: str) -> dict[str, Any]:
    path = work / "tuned" / f"{family}.best.json"
    return json.loads(path.read_text())["params"] if path.exists() else {}


def fitted(family: str, params: dict[str, Any], data: Interactions, times: sp.csr_matrix | None = None,
           half_life_s: float | None = None, base: float = 0.0) -> Recommender:
    """``family`` fitted on ``data``; with ``times`` and ``half_life_s``, scored from a recency-weighted history
    (the probe, see ``recency_weighted``; the fit itself is unchanged)."""
    model = build(family, params).fit(data, TrainOptions(seed=SEED))
    if times is not None and half_life_s is not None:
        if family not in PROBE_FAMILIES:
            raise ValueError(f"the recency probe scores from model.history: one of {PROBE_FAMILIES}, not {family!r}")
        model.history = recency_weighted(data.implicit(), times, half_life_s, base)
    return model


def recency_weighted(history: sp.csr_matrix, times: sp.csr_matrix, half_life_s: float,
                     base: float = 0.0) -> sp.csr_matrix:
    """``history`` with each entry weighted ``base`` + 2^(-age / half_life_s), age counted back from the user's
    latest entry: base 0 is recency alone, a larger base leans back toward the plain history.

    ``times``: epoch seconds of every stored entry of the whole data set; ``history`` (a split's train part) may
    hold fewer, and only the times of its own entries count, so the latest is the latest it kept.
    """
    times = times.multiply(history > 0).tocsr()
    times.sort_indices()
    out = history.tocsr(copy=True).astype(np.float32)
    out.sort_indices()
    if not np.array_equal(times.indices, out.indices) or not np.array_equal(times.indptr, out.indptr):
        raise ValueError("times must have a time for every entry of history")
    latest = times.max(axis=1).toarray().ravel()  # epoch seconds are positive: implicit zeros never win
    age = np.repeat(latest, np.diff(times.indptr)) - times.data
    out.data = (base + np.exp2(-age / half_life_s)).astype(np.float32)
    return out


def metrics_on_test_split(model: Recommender, data: Interactions, test: pd.DataFrame) -> dict[str, float]:
    """Microsoft's metrics (``ranking_metrics``) of every user's top-K unseen items against the ``test`` rows."""
    top = top_items(model, np.arange(data.n_users), K, data.matrix)
    recs = pd.DataFrame({"user_id": np.repeat(data.user_ids, K), "item_id": data.item_ids[top.ravel()],
                         "rank": np.tile(np.arange(1, K + 1), data.n_users)})
    truth = test.assign(user_id=test["user_id"].astype(str), item_id=test["item_id"].astype(str))
    return ranking_metrics(truth, recs, K)


def ndcg_on_test_split(model: Recommender, data: Interactions, test: pd.DataFrame) -> float:
    return metrics_on_test_split(model, data, test)["ndcg@k"]


def scores(family: str, params: dict[str, Any], data: Interactions, rated_at: np.ndarray, test: pd.DataFrame,
           windows: int, half_life_s: float | None = None, base: float = 0.0) -> dict[str, float]:
    """nDCG@10 of ``family`` on the test split and on each of the latest ``windows`` windows of the holdout."""
    times = None
    if half_life_s is not None:
        times = sp.csr_matrix((rated_at, data.matrix.indices, data.matrix.indptr), shape=data.matrix.shape)
    row = {"test": ndcg_on_test_split(fitted(family, params, data, times, half_life_s, base), data, test)}
    for fold in range(windows):
        split = temporal_split(data, rated_at, FRACTION, "user", fold)
        model = fitted(family, params, split.train, times, half_life_s, base)
        row[f"window {fold}"] = metric_value(evaluate(model, split, (K,))[1], f"ndcg@{K}")
    return row


def measure(work: Path, families: tuple[str, ...], windows: int, wheel: Path | None,
            half_life_s: float = PROBE_HALF_LIFE_S) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The families' table, and the probe's: PROBE_FAMILIES scored from the plain history and from each of
    PROBE_BASES' recency weightings."""
    ml = load_ml100k(work / "cache", wheel)
    train, test = python_stratified_split(ml.ratings, ratio=0.75, filter_by="item", seed=SEED)
    data, rated_at = interactions(train, ml.items)
    rows, probe = [], []
    for family in families:
        params = kept_params(work, family)
        row = {"model": family, **scores(family, params, data, rated_at, test, windows)}
        log.info("%s %s: %s", family, params or "defaults", {k: round(v, 4) for k, v in row.items() if k != "model"})
        rows.append(row)
        if family in PROBE_FAMILIES:
            probe.append({**row, "history": "as is"})
            for base in PROBE_BASES:
                weighted = scores(family, params, data, rated_at, test, windows, half_life_s, base)
                log.info("%s, history weighted %s: %s", family, weighting(base),
                         {k: round(v, 4) for k, v in weighted.items()})
                probe.append({"model": family, **weighted, "history": weighting(base)})
    return pd.DataFrame(rows), pd.DataFrame(probe)


def render(table: pd.DataFrame, probe: pd.DataFrame, date: str) -> str:
    windows = [c for c in table.columns if c.startswith("window")]
    lines = [START, "### Does the time-based holdout agree with the random test split?", "",
             f"`make bench-protocols` (`python -m jobs.bench.protocols --out docs/benchmarks.md`), run on {date}; "
             f"{machine_text()}. nDCG@10 of each family with the params the quality benchmark kept (else its defaults) "
             "on the test split above and on rolling-origin windows of the pipeline's holdout of the train split "
             "(window 0: each user's latest 10 %, the gate's; window 1: the 10 % before, with the later rows left "
             "out; tuning averages windows 1-3). Bold: each column's best. Last row: Kendall's tau between the "
             "column's ranking of the families and the test split's.", "",
             "| model | test split | " + " | ".join(windows) + " |", "|---|" + "---|" * (1 + len(windows))]
    best = {c: table[c].max() for c in ["test", *windows]}
    for _, row in table.iterrows():
        cells = [f"**{row[c]:.4f}**" if row[c] == best[c] else f"{row[c]:.4f}" for c in ["test", *windows]]
        lines.append(f"| {row['model']} | " + " | ".join(cells) + " |")
    taus = [kendalltau(table["test"], table[c]).statistic for c in windows]
    lines.append("| Kendall's tau with the test split | 1 | " + " | ".join(f"{t:+.2f}" for t in taus) + " |")
    if not probe.empty:
        lines += ["", *render_probe(probe, windows)]
    lines.append(END)
    return "\n".join(lines)


def weighting(base: float) -> str:
    """The probe's label for a rating's weight ``base + r``, r = 2^(-age / half-life)."""
    return "r (recency alone)" if base == 0 else f"{base:g} + r"


def render_probe(probe: pd.DataFrame, windows: list[str]) -> list[str]:
    minutes = f"{PROBE_HALF_LIFE_S / 60:g}"
    lines = ["#### What the windows reward: the user's last few ratings", "",
             f"The same models scored from recency-weighted histories: each of the user's ratings weighted "
             f"base + r, r = 2^(-age / {minutes} min), age counted back from the user's latest rating (as is: "
             "every rating weighs 1); the fit is unchanged. Change: each weighted row against the row as is.", "",
             "| model | history | test split | " + " | ".join(windows) + " |",
             "|---|---|" + "---|" * (1 + len(windows))]
    columns = ["test", *windows]
    for family, rows in probe.groupby("model", sort=False):
        plain = rows[rows["history"] == "as is"].iloc[0]
        lines.append(f"| {family} | as is | " + " | ".join(f"{plain[c]:.4f}" for c in columns) + " |")
        for _, weighted in rows[rows["history"] != "as is"].iterrows():
            lines.append(f"| {family} | {weighted['history']} | " + " | ".join(
                f"{weighted[c]:.4f} ({weighted[c] / plain[c] - 1:+.0%})" for c in columns) + " |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "outputs" / "bench",
                        help="the quality benchmark's work folder: data cache and kept params")
    parser.add_argument("--families", default=",".join(FAMILIES), help="comma-separated model families")
    parser.add_argument("--windows", type=int, default=4, help="rolling-origin windows of the holdout")
    parser.add_argument("--wheel", type=Path, help="a recbole wheel already on disk (no download)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    families = tuple(f.strip() for f in args.families.split(",") if f.strip())
    table, probe = measure(args.work, families, args.windows, args.wheel)
    write_section(args.out, render(table, probe, datetime.now(UTC).date().isoformat()), START, END)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
