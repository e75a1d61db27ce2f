"""The warehouse: the pipeline's own DuckDB database (one writer at a time), and the runs table's bookkeeping.

Tables are created from ``sql/warehouse/*.sql``; every statement that reads or changes them lives in ``sql/``
and runs through ``jobs.sql``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from jobs.clock import utcnow
from jobs.config import Settings
from jobs.records import RunContext
from jobs.sql import run_sql, sql_files

log = logging.getLogger("recs.warehouse")


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that does not exist yet (``sql/warehouse/*.sql``)."""
    for name in sql_files("warehouse"):
        run_sql(con, name)


def _open(path: Path, read_only: bool, lock_timeout_s: float) -> duckdb.DuckDBPyConnection:
    """Open the database, waiting while another process holds its lock (parallel tasks take turns)."""
    deadline = time.monotonic() + lock_timeout_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@contextmanager
def connect(settings: Settings, read_only: bool = False, lock_timeout_s: float = 300.0) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse, schema ensured. One writing process at a time (DuckDB's file lock):
    a second one waits up to ``lock_timeout_s`` for the first to finish."""
    path = settings.layout.warehouse
    path.parent.mkdir(parents=True, exist_ok=True)
    if read_only and not path.exists():
        with connect(settings) as con:  # create it once so a first read-only open works
            pass
    con = _open(path, read_only, lock_timeout_s)
    try:
        if not read_only:
            create_schema(con)
        yield con
    finally:
        con.close()


def record_start(con: duckdb.DuckDBPyConnection, run: RunContext, started_at: datetime) -> None:
    """Insert (or reset, on a rerun) the run's row with status 'running'."""
    run_sql(con, "runs/record_start",
            {"run_id": run.run_id, "logical_date": run.run_date, "as_of": run.as_of, "started_at": started_at})


def record_counts(con: duckdb.DuckDBPyConnection, run_id: str, ingested: dict, snapshot: dict) -> None:
    """The ratings the run ingested (``IngestResult.to_dict()``) and what its snapshot holds."""
    run_sql(con, "runs/record_counts", {
        "run_id": run_id, "rows_ingested": ingested.get("n_ratings_loaded", 0),
        "rows_quarantined": ingested.get("n_ratings_quarantined", 0),
        "users": snapshot["users"], "items": snapshot["items"],
    })


def record_finish(con: duckdb.DuckDBPyConnection, run_id: str, status: str, finished_at: datetime,
                  message: str | None = None) -> None:
    run_sql(con, "runs/record_finish",
            {"run_id": run_id, "status": status, "finished_at": finished_at, "message": message})


def mark_failed(settings: Settings, run: RunContext, message: str) -> None:
    """Record a failed run (called from the failure path; never raises over the original error)."""
    try:
        with connect(settings) as con:
            record_finish(con, run.run_id, "failed", utcnow(), message[:2000])
    except Exception:  # the warehouse itself may be what failed
        log.exception("could not record the failure of run %s", run.run_id)


def latest_rating(settings: Settings) -> datetime | None:
    with connect(settings) as con:
        return run_sql(con, "runs/latest_rating").fetchone()[0]
