"""The bulk ingest of a history CSV beside DuckDB's bare load of the same file, alternating, in one run.

``python -m jobs.bench.ingest --size 20M --root outputs/bench --repeats 2`` loads the data set's history CSV
(``jobs.bench.data``) ``repeats`` times each way, each into a fresh home:

- **recs ingest**: ``ingest_paths`` as ``recs ingest`` runs it (sha256 and NUL scan, every line typed and checked,
  numbered, duplicates searched, good rows appended, bad rows quarantined, the manifest written, the counts
  reconciled);
- **DuckDB bare load**: ``insert into ratings select ... from read_csv(...)`` of the same file into the same table
  schema, with casts only: no checks, no line numbers, no duplicate search, no sha256, no manifest. No ingest that
  keeps every row accountable can be faster on the machine; it is the floor the ingest is measured against.

Shared machines are noisy: the best of the repeats is reported, and the variants alternate so drift hits all.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

from jobs.bench.data import BENCH_SIZES, dataset
from jobs.bench.page import machine, machine_text


def _ingest(history: Path, home: Path) -> tuple[float, int]:
    from jobs.config import load_settings
    from jobs.ingest import ingest_paths

    shutil.rmtree(home, ignore_errors=True)
    settings = load_settings(home=home)
    started = time.perf_counter()
    result = ingest_paths(settings, [history])
    return time.perf_counter() - started, result.n_rows_read


def _bare_load(history: Path, home: Path) -> tuple[float, int]:
    import duckdb

    from jobs.sql import literal, sql_text

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    con = duckdb.connect(str(home / "bare.duckdb"))
    try:
        con.execute(sql_text("warehouse/ratings"))
        started = time.perf_counter()
        con.execute("begin transaction")
        con.execute(
            "insert into ratings select c1, c2, cast(c3 as double), make_timestamp(cast(c4 as bigint) * 1000000), "
            f"{literal(str(history))}, 0 from read_csv({literal(str(history))}, columns = {{'c1': 'VARCHAR', "
            "'c2': 'VARCHAR', 'c3': 'VARCHAR', 'c4': 'VARCHAR'}, header = false, skip = 1, quote = '', "
            "auto_detect = false, buffer_size = 8388608)"
        )
        con.execute("commit")
        seconds = time.perf_counter() - started
        return seconds, con.execute("select count(*) from ratings").fetchone()[0]
    finally:
        con.close()


VARIANTS = {"recs ingest": _ingest, "DuckDB bare load (floor)": _bare_load}


def run(size: str, root: Path, repeats: int) -> dict[str, Any]:
    data = dataset(size, root)
    home = root / "homes" / f"ingest-{size}"
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    rows: dict[str, int] = {}
    for _ in range(repeats):
        for name, fn in VARIANTS.items():
            took, n_rows = fn(data.history, home)
            seconds[name].append(took)
            rows[name] = n_rows
    shutil.rmtree(home, ignore_errors=True)
    return {"size": size, "history_rows": data.history_rows, "history_bytes": data.history.stat().st_size,
            "machine": machine(), "repeats": repeats,
            "variants": {name: {"seconds": times, "best_s": min(times), "rows": rows[name],
                                "rows_per_s": rows[name] / min(times)} for name, times in seconds.items()}}


def table(result: dict[str, Any]) -> str:
    lines = [f"Bulk ingest of the {result['size']} history CSV ({result['history_rows']:,} rows, "
             f"{result['history_bytes'] / 2**20:,.0f} MiB), best of {result['repeats']}, alternating, on "
             f"{machine_text()}:", "", "| variant | best s | rows/s | every run s |", "|---|---|---|---|"]
    for name, v in result["variants"].items():
        runs = ", ".join(f"{s:.1f}" for s in v["seconds"])
        lines.append(f"| {name} | {v['best_s']:.1f} | {v['rows_per_s']:,.0f} | {runs} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(BENCH_SIZES), default="20M")
    parser.add_argument("--root", type=Path, default=Path("outputs/bench"))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    result = run(args.size, args.root, args.repeats)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
