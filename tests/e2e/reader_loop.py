"""A consumer process for the concurrency test: read the published outputs in a loop, report what it saw.

Each read must see exactly one complete version: one run_id, and as many rows as that run's own `runs` row
says (users x top_n). Prints one JSON line: reads, errors, inconsistent reads, slowest open in seconds.
"""

import json
import sys
import time
from pathlib import Path

import duckdb


def read_duckdb(path: Path, top_n: int) -> str | None:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute("select run_id, count(*) from recommendations group by run_id").fetchall()
        if len(rows) != 1:
            return f"duckdb: {len(rows)} run ids in one read"
        run_id, n = rows[0]
        users = con.execute("select users from runs where run_id = $r", {"r": run_id}).fetchone()[0]
        return None if n == users * top_n else f"duckdb: {n} rows for {users} users in run {run_id}"
    finally:
        con.close()


def read_parquet(root: Path, top_n: int) -> str | None:
    partitions = sorted(root.glob("run_date=*"))
    if not partitions:
        return None
    con = duckdb.connect()
    rows = con.execute(f"select run_id, count(*), count(distinct user_id) from read_parquet('{partitions[-1]}/*.parquet') group by run_id").fetchall()
    if len(rows) != 1:
        return f"parquet: {len(rows)} run ids in one partition"
    _, n, users = rows[0]
    return None if n == users * top_n else f"parquet: {n} rows for {users} users"


def main(outputs: str, top_n: int, seconds: float) -> None:
    outputs_dir = Path(outputs)
    serving = outputs_dir / "recs.duckdb"
    deadline = time.monotonic() + seconds
    reads, errors, inconsistent, slowest = 0, [], [], 0.0
    while time.monotonic() < deadline and not (outputs_dir / "readers.stop").exists():
        if not serving.exists():
            time.sleep(0.05)
            continue
        started = time.monotonic()
        try:
            problem = read_duckdb(serving, top_n) or read_parquet(outputs_dir / "parquet" / "recommendations", top_n)
        except Exception as exc:  # any error is a failure of the contract
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        slowest = max(slowest, time.monotonic() - started)
        reads += 1
        if problem:
            inconsistent.append(problem)
    print(json.dumps({"reads": reads, "errors": errors[:5], "n_errors": len(errors), "inconsistent": inconsistent[:5],
                      "n_inconsistent": len(inconsistent), "slowest_read_s": slowest}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
