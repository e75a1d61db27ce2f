"""``python -m jobs.bench.ease --run-dir outputs/bench/homes/20M/outputs/runs/<run>``: one EASE fit on a run's
snapshot (left by ``make bench``), in this fresh process: its wall seconds and the process's peak RSS.

The figure that decides whether EASE fits a night's budget at a catalogue's size (docs/benchmarks.md, "EASE").
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def fit_once(run_dir: Path, regularization: float) -> dict[str, float]:
    import torch

    from jobs.layout import RunFiles
    from jobs.train.snapshot import load_snapshot
    from models.base import TrainOptions
    from models.ease import EASE, EASEConfig

    data = load_snapshot(RunFiles(run_dir)).data
    loaded_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    started = time.perf_counter()
    EASE(EASEConfig(regularization=regularization)).fit(data, TrainOptions())
    return {"users": data.n_users, "items": data.n_items, "interactions": data.nnz,
            "fit_seconds": round(time.perf_counter() - started, 1), "torch_threads": torch.get_num_threads(),
            "snapshot_loaded_rss_gib": round(loaded_gib, 2),
            "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.ease", description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--regularization", type=float, default=250.0)
    args = parser.parse_args(argv)
    print(json.dumps(fit_once(args.run_dir, args.regularization)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
