"""``python -m jobs.bench.ials_chunks --run-dir outputs/bench/homes/20M/outputs/runs/<run>``: one iALS iteration
(the user pass, then the item pass) on a run's snapshot for each ``chunk_rows`` x ``cache_kib`` layout.

The layouts change only how the work is cut (``models.ials.Tiles``), not what is computed: every layout starts
from the same seeded factors and must end with the same ones (the table shows their norms). What differs is the
memory traffic: each column block's kernels read and write the chunk's rows (chunk_rows x factors floats), which
stay in cache when the chunk is small, and each chunk reads every column block once. ``--repeats`` runs the
layouts in turn that many times, so a load that comes and goes hits them alike. Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

#: chunk_rows,cache_kib pairs: the defaults before and after 2026-12-03 and their neighbours.
LAYOUTS = ("262144,1024", "65536,1024", "32768,1024", "16384,1024", "32768,2048")


def iteration_seconds(run_dir: Path, layouts: list[tuple[int, int]], repeats: int, factors: int = 64,
                      alpha: float = 10.0) -> list[dict[str, Any]]:
    import torch

    from jobs.layout import RunFiles
    from jobs.publish.list_metrics import snapshot_matrix
    from models.ials import IALS, IALSConfig, conjugate_gradient_pass, cpu_block_cols, tile_sides

    matrix = snapshot_matrix(RunFiles(run_dir))  # ones: the benchmark's iALS counts every interaction as r = 1
    conf = IALS(IALSConfig(alpha=alpha)).confidences(matrix)
    gen = torch.Generator().manual_seed(0)
    users0 = torch.randn(matrix.shape[0], factors, generator=gen) * 0.1
    items0 = torch.randn(matrix.shape[1], factors, generator=gen) * 0.1
    cpu = torch.device("cpu")
    out = []
    for repeat in range(repeats):
        for chunk_rows, cache_kib in layouts:
            started = time.perf_counter()
            by_user, by_item = tile_sides(matrix, conf, chunk_rows, cpu_block_cols(cache_kib, factors), cpu)
            built = time.perf_counter()
            x, y = users0.clone(), items0.clone()
            with torch.inference_mode():
                conjugate_gradient_pass(by_user, x, y, 1.0, 3)
                user_pass = time.perf_counter()
                conjugate_gradient_pass(by_item, y, x, 1.0, 3)
                item_pass = time.perf_counter()
            out.append({"repeat": repeat, "chunk_rows": chunk_rows, "cache_kib": cache_kib,
                        "users": matrix.shape[0], "items": matrix.shape[1], "interactions": int(matrix.nnz),
                        "tiles_s": round(built - started, 2), "user_pass_s": round(user_pass - built, 2),
                        "item_pass_s": round(item_pass - user_pass, 2), "iteration_s": round(item_pass - built, 2),
                        "user_norm": round(float(x.norm()), 4), "item_norm": round(float(y.norm()), 4),
                        "threads": torch.get_num_threads()})
            print(json.dumps(out[-1]), flush=True)
            del by_user, by_item
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.ials_chunks", description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True, help="a run directory with a snapshot (make bench)")
    parser.add_argument("--layouts", nargs="*", default=list(LAYOUTS),
                        help="chunk_rows,cache_kib pairs (default: %(default)s)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    pairs = [tuple(int(v) for v in pair.split(",")) for pair in args.layouts]
    iteration_seconds(args.run_dir, pairs, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
