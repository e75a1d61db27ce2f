"""The warehouse: the pipeline's own DuckDB database (one writer at a time), and the runs table's bookkeeping.

Tables are created from ``sql/warehouse/*.sql``; every statement that reads or changes them lives in ``sql/``
and runs through ``jobs.sql``.
"""

from __future__ import annotations

import logging
import re
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
    """Create every warehouse table that does not exist yet (``sql/warehouse/*.sql``), then bring tables made by
    an earlier version up to date (``sql/warehouse/migrate/*.sql``, in order; each is a no-op once applied)."""
    for name in [*sql_files("warehouse"), *sql_files("warehouse/migrate")]:
        run_sql(con, name)


class WarehouseBusy(RuntimeError):
    """Another process held the warehouse's lock for longer than the pipeline waits."""


_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def _holder(error: duckdb.IOException) -> str:
    """Who holds the lock, as DuckDB's error names it."""
    found = _HOLDER.search(str(error))
    return f"{found.group(1)} (PID {found.group(2)})" if found else "another process"


def _open(path: Path, read_only: bool, lock_wait_s: float) -> duckdb.DuckDBPyConnection:
    """Open the database, waiting while another process holds its lock (the pipeline's own tasks take turns).

    The first conflict is logged at once with the process that holds the lock; past ``lock_wait_s`` the open
    fails with ``WarehouseBusy`` saying who and what to do, not DuckDB's traceback."""
    deadline = time.monotonic() + lock_wait_s
    warned = False
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            advice = (f"the warehouse {path} is locked by {_holder(exc)}. If that is not a step of this pipeline "
                      "(an analyst's client, even a read-only one, blocks every write), close it: consumers read "
                      "the published outputs/recs.duckdb, never the warehouse")
            if time.monotonic() > deadline:
                raise WarehouseBusy(f"gave up after waiting {lock_wait_s:.0f} s: {advice}") from None
            if not warned:
                log.warning("waiting up to %.0f s: %s", lock_wait_s, advice)
                warned = True
            time.sleep(0.5)


@contextmanager
def connect(settings: Settings, read_only: bool = False, lock_wait_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the warehouse, schema ensured. One writing process at a time (DuckDB's file lock):
    a second one waits up to ``[warehouse] lock_wait_seconds`` for the first to finish."""
    path = settings.layout.warehouse
    path.parent.mkdir(parents=True, exist_ok=True)
    if read_only and not path.exists():
        with connect(settings) as con:  # create it once so a first read-only open works
            pass
    wait = settings.warehouse.lock_wait_seconds if lock_wait_s is None else lock_wait_s
    con = _open(path, read_only, wait)
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


def record_counts(con: duckdb.DuckDBPyConnection, run_id: str, snapshot: dict) -> None:
    """What the run's snapshot holds, and the rating rows the files it ingested (across all its attempts) loaded
    and quarantined (``ingested_files.run_id``)."""
    run_sql(con, "runs/record_counts", {"run_id": run_id, "users": snapshot["users"], "items": snapshot["items"]})


def fail_stale_runs(con: duckdb.DuckDBPyConnection, run_id: str, found_at: datetime) -> None:
    """Runs other than ``run_id`` still marked running are dead: ``run_id`` holds the home (``jobs.runlock``)."""
    run_sql(con, "runs/fail_stale", {"run_id": run_id, "found_at": found_at})


def attribute_ingest(settings: Settings, provisional: str, run_id: str) -> None:
    """Files ingested under a provisional run id (``recs run`` before its id is known) belong to ``run_id``."""
    with connect(settings) as con:
        run_sql(con, "staging/attribute_files", {"provisional": provisional, "run_id": run_id})


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
