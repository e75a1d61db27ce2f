"""``python -m jobs.bench.slim_fit``: SLIM (``models.slim``) fitted at the benchmark shapes (the seeded generator of
``jobs.sample.data``: 1M, 5M, 20M shaped like MovieLens-20M, and 5M ratings over 100k items), with EASE beside
it where EASE is affordable. Each fit runs in a fresh process that loads the binary matrix (cached as .npz under
``--cache``), so its peak RSS is the fit's own plus the matrix. Prints one table row per fit.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

#: Shapes: name -> (ratings, users, items). The presets of jobs.sample.data plus a wide catalogue.
SHAPES: dict[str, tuple[int, int, int]] = {
    "1M": (1_000_000, 6_040, 3_706),
    "5M": (5_000_000, 35_000, 13_500),
    "20M": (20_000_000, 138_000, 27_000),
    "5M-100k": (5_000_000, 35_000, 100_000),
}


def matrix_file(shape: str, cache: Path) -> Path:
    """The binary users x items CSR of ``shape`` as .npz (generated on first use)."""
    import numpy as np
    import scipy.sparse as sp

    from jobs.sample.data import DEFAULT_END_DATE
    from jobs.sample.world import ratings_arrays

    path = cache / f"slim-{shape}.npz"
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        n_ratings, n_users, n_items = SHAPES[shape]
        arrays = ratings_arrays(n_ratings, n_users, n_items, 42, DEFAULT_END_DATE, 42, True)
        _, rows = np.unique(arrays["user_id"], return_inverse=True)
        _, cols = np.unique(arrays["item_id"], return_inverse=True)
        matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(rows.max() + 1, cols.max() + 1))
        matrix.data[:] = 1.0
        sp.save_npz(path, matrix)
    return path


def fit_once(model: str, path: Path, params: dict) -> dict:
    """One fit in this process: wall seconds and peak RSS (GiB), with the RSS after loading for reference."""
    import numpy as np
    import scipy.sparse as sp
    import torch

    from models.base import Interactions, TrainOptions
    from models.registry import build

    matrix = sp.load_npz(path).tocsr()
    data = Interactions(matrix, np.arange(matrix.shape[0]).astype(str).astype(object),
                        np.arange(matrix.shape[1]).astype(str).astype(object))
    loaded = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    usage = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    build(model, params).fit(data, TrainOptions(seed=42, device="cpu"))
    return {"model": model, "params": params, "users": data.n_users, "items": data.n_items, "interactions": data.nnz,
            "fit_seconds": round(time.perf_counter() - started, 1),
            "cpu_seconds": round(sum(getattr(resource.getrusage(resource.RUSAGE_SELF), f) - getattr(usage, f)
                                     for f in ("ru_utime", "ru_stime")), 1),
            "torch_threads": torch.get_num_threads(),
            "loaded_rss_gib": round(loaded, 2),
            "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.slim_fit", description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="1M,5M,20M,5M-100k", help="SLIM fits at these shapes")
    parser.add_argument("--ease", default="1M,5M", help="EASE fits at these shapes ('' for none)")
    parser.add_argument("--params", default="{}", help="SLIM params (JSON)")
    parser.add_argument("--cache", type=Path, default=Path("outputs/bench/cache"))
    parser.add_argument("--one", nargs=3, metavar=("MODEL", "NPZ", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(fit_once(args.one[0], Path(args.one[1]), json.loads(args.one[2]))))
        return 0
    runs = [("slim", s, json.loads(args.params)) for s in args.shapes.split(",") if s]
    runs += [("ease", s, {}) for s in args.ease.split(",") if s]
    runs.sort(key=lambda r: list(SHAPES).index(r[1]))
    print("| model | shape | users | items | interactions | fit s | CPU s | peak RSS GiB (after loading) |")
    print("|---|---|---|---|---|---|---|---|")
    for model, shape, params in runs:
        path = matrix_file(shape, args.cache)
        out = subprocess.run([sys.executable, "-m", "jobs.bench.slim_fit", "--one", model, str(path), json.dumps(params)],
                             capture_output=True, text=True, check=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"| {model} {json.dumps(params) if params else ''} | {shape} | {row['users']:,} | {row['items']:,} | "
              f"{row['interactions']:,} | {row['fit_seconds']} | {row['cpu_seconds']} | {row['peak_rss_gib']} ({row['loaded_rss_gib']}) |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
