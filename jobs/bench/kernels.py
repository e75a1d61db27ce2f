"""The two kernels of a night measured side by side with ``implicit``, in one process, on a night's snapshot.

``python -m jobs.bench.kernels --run-dir outputs/bench/homes/20M/outputs/runs/<run> --out kernels.json``:

* **roof**: the machine's float32 matrix-product rate (a square 2048^3 ``torch.mm``, best of several).
* **training**: iALS (``models.ials``) and implicit's ``AlternatingLeastSquares`` (conjugate gradient, its
  default) on the same training matrix (the night's time-based split), with the same factors, regularisation,
  iterations and confidence (implicit's ``alpha`` multiplies the interaction, ours adds 1, so implicit gets
  ``1 + alpha``), both on the same number of threads; seconds per iteration, and nDCG@10 / recall@10 of both on the
  holdout through the same evaluation code.
* **scoring**: every user's top-100 unseen items with the same factors (ours from the training above): the
  shared top-k (``models.topk.recommend``, the factor path), the plain path (chunked matmul + mask + ``topk`` of
  every row) and implicit's ``recommend`` for all users; their GFLOP/s (2 x users x items x factors per second,
  dense-equivalent) beside the roof, and how far the lists agree.

``implicit`` is a benchmark-only dependency (``make bench`` installs it); without it, its columns stay empty.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from jobs.bench.data import IALS_PARAMS

K = 100


def matmul_roof(n: int = 2048, repeats: int = 7) -> float:
    """GFLOP/s of a square float32 ``torch.mm`` (best of ``repeats``), on torch's threads."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = torch.empty(n, n)
    torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    return 2 * n**3 / best / 1e9


def _implicit() -> Any:
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError:
        return None
    return AlternatingLeastSquares


def _quality(model: Any, split: Any) -> dict[str, float]:
    from models.evaluation import evaluate, metric_value

    _, summary = evaluate(model, split, (10,))
    return {"ndcg@10": metric_value(summary, "ndcg@10"), "recall@10": metric_value(summary, "recall@10")}


def _as_ials(user_factors: np.ndarray, item_factors: np.ndarray) -> Any:
    """implicit's factors in our IALS class, so both are evaluated and scored by the same code."""
    from models.ials import IALS

    model = IALS(factors=user_factors.shape[1])
    model.user_factors = torch.from_numpy(np.ascontiguousarray(user_factors, dtype=np.float32))
    model.item_factors = torch.from_numpy(np.ascontiguousarray(item_factors, dtype=np.float32))
    model.n_users, model.n_items = user_factors.shape[0], item_factors.shape[0]
    return model


def training(split: Any, threads: int, seed: int = 42) -> tuple[dict[str, Any], Any]:
    from threadpoolctl import threadpool_limits

    from models.base import TrainOptions
    from models.ials import IALS

    params = dict(IALS_PARAMS)
    iterations = params["iterations"]
    ours = IALS(**params)
    started = time.perf_counter()
    ours.fit(split.train, TrainOptions(seed=seed, device="cpu"))
    ours_s = time.perf_counter() - started
    result: dict[str, Any] = {"params": params, "threads": threads, "nnz": int(split.train.nnz),
                              "ours_s": ours_s, "ours_s_per_it": ours_s / iterations, "ours_quality": _quality(ours, split)}
    als = _implicit()
    if als is not None:
        model = als(factors=params["factors"], regularization=params["regularization"], alpha=1.0 + params["alpha"],
                    iterations=iterations, use_cg=True, num_threads=threads, random_state=seed)
        with threadpool_limits(1, "blas"):  # implicit's advice: its own threads, single-threaded BLAS
            started = time.perf_counter()
            model.fit(split.train.implicit(), show_progress=False)
            implicit_s = time.perf_counter() - started
        result |= {"implicit_s": implicit_s, "implicit_s_per_it": implicit_s / iterations,
                   "implicit_quality": _quality(_as_ials(model.user_factors, model.item_factors), split)}
    return result, ours


class _Dense:
    """A model seen only through ``score``: the plain path (chunked matmul, mask, ``torch.topk`` of every row)."""

    def __init__(self, model: Any) -> None:
        self.model, self.n_items = model, model.n_items

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.model.score(users)


def scoring(model: Any, history: Any, threads: int) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    from models.topk import recommend

    n_users, n_items = history.shape
    users = np.arange(n_users)
    flop = 2.0 * n_users * n_items * model.config.factors
    started = time.perf_counter()
    ours = np.concatenate([top.items for top in recommend(model, users, K, history)])
    ours_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in recommend(_Dense(model), users, K, history):
        pass
    plain_s = time.perf_counter() - started
    result: dict[str, Any] = {"users": n_users, "items": n_items, "factors": model.config.factors, "k": K,
                              "ours_s": ours_s, "ours_gflops": flop / ours_s / 1e9,
                              "plain_s": plain_s, "plain_gflops": flop / plain_s / 1e9}
    als = _implicit()
    if als is not None:
        other = als(factors=model.config.factors, num_threads=threads)
        other.user_factors = model.user_factors.numpy()
        other.item_factors = model.item_factors.numpy()
        with threadpool_limits(1, "blas"):
            started = time.perf_counter()
            ids, _ = other.recommend(users, history, N=K, filter_already_liked_items=True)
            implicit_s = time.perf_counter() - started
        sample = np.arange(0, n_users, max(1, n_users // 2000))
        agree = np.mean([len(np.intersect1d(ours[u][ours[u] >= 0], ids[u][ids[u] >= 0])) / max(1, (ours[u] >= 0).sum())
                         for u in sample])
        result |= {"implicit_s": implicit_s, "implicit_gflops": flop / implicit_s / 1e9, "agreement": float(agree)}
    return result


def run_kernels(run_dir: Path, holdout_fraction: float = 0.1, seed: int = 42) -> dict[str, Any]:
    from jobs.layout import RunFiles
    from jobs.train.snapshot import load_snapshot
    from models.splits import temporal_split

    threads = torch.get_num_threads()
    snapshot = load_snapshot(RunFiles(run_dir))
    split = temporal_split(snapshot.data, snapshot.rated_at, holdout_fraction)
    roof = matmul_roof()
    train, model = training(split, threads, seed)
    score = scoring(model, snapshot.data.matrix.astype(np.float32), threads)
    roof_after = matmul_roof()
    return {"roof_gflops": max(roof, roof_after), "roof_before": roof, "roof_after": roof_after, "threads": threads,
            "implicit": _implicit() is not None, "training": train, "scoring": score}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.kernels", description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="a run folder with a snapshot/")
    parser.add_argument("--out", type=Path, required=True, help="write the measurements here (JSON)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args.out.write_text(json.dumps(run_kernels(args.run_dir), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
