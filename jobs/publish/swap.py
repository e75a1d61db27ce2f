"""Make a checked release current, atomically, for readers in other processes; roll back; keep history.

DuckDB: each release is its own file in ``versions/``; ``recs.duckdb`` is a hard link to the current one,
replaced by ``rename(2)``. A reader that opened the old file keeps reading it (same inode) and never waits
on a lock held by the pipeline (the pipeline never opens the published file); a reader opening after the
rename gets the new one. Parquet: each table's new partition directory is written aside and swapped in
with one rename (``renameat2(RENAME_EXCHANGE)`` when it replaces a partition of the same date).
Only one publish runs at a time (an exclusive lock file), whatever starts it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import logging
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from jobs.config import Settings
from jobs.faults import maybe_crash
from jobs.files import replacing, write_json
from jobs.layout import OutputLayout
from jobs.publish.release import current, newer_published
from jobs.records import RunContext, run_key
from jobs.sql import literal, q_identifier, q_literal, run_sql

log = logging.getLogger("recs.publish")

#: Tables published per run date (partitioned) and those published whole (their full history each time).
PARTITIONED = ("recommendations", "popular_items", "similar_items")
WHOLE = ("runs", "model_metrics", "champions", "items")
_RENAME_EXCHANGE = 2


class PublishBusy(RuntimeError):
    """Another publish holds the lock."""


@contextmanager
def publish_lock(settings: Settings, timeout_s: float = 600.0) -> Iterator[None]:
    path = settings.layout.publish_lock
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as fh:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise PublishBusy(f"another publish has held {path} for over {timeout_s:.0f}s") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the call is unavailable."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd = -100
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno), str(a))
    return True


def swap_dir(staging: Path, final: Path) -> None:
    """Make ``staging`` the directory at ``final`` in one step; the replaced directory is deleted after."""
    if not final.exists():
        os.rename(staging, final)
        return
    if _exchange(staging, final):
        shutil.rmtree(staging)
        return
    old = final.with_name(final.name + ".old")  # no renameat2: a brief moment without the directory
    os.rename(final, old)
    os.rename(staging, final)
    shutil.rmtree(old)


def _export_parquet(settings: Settings, run: RunContext, version: Path) -> list[str]:
    run_date = run.run_date.isoformat() if run.run_date else "undated"
    layout = settings.layout
    con = duckdb.connect()
    written = []
    try:
        con.execute(f"attach {literal(version)} as release (read_only)")
        for table in PARTITIONED:
            final = layout.parquet_partition(table, run_date)
            staging = final.with_name(f".staging-{run.key}")
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            run_sql(con, "publish/copy_table", table=q_identifier(table), path=q_literal(staging / "part-0.parquet"))
            swap_dir(staging, final)
            written.append(str(final))
            maybe_crash(f"publish:after_parquet_{table}")
        for table in WHOLE:
            final = layout.parquet_whole(table)
            with replacing(final) as tmp:
                run_sql(con, "publish/copy_table", table=q_identifier(table), path=q_literal(tmp))
            written.append(str(final))
    finally:
        con.close()
    return written


def _make_current(settings: Settings, version: Path, run_id: str, run_date: str | None, published_at: datetime) -> None:
    with replacing(settings.layout.serving) as tmp:
        os.link(version, tmp)
        maybe_crash("publish:before_swap")
    write_json(settings.layout.current_pointer, {"run_id": run_id, "run_date": run_date, "version": version.name,
                                                 "published_at": published_at.isoformat()})


def _serving_artifact_run(version: Path) -> str | None:
    """The run key whose trained artifact scored this version (an older run when the gate kept a champion)."""
    key = OutputLayout.version_key(version)
    con = duckdb.connect(str(version), read_only=True)
    try:
        rows = run_sql(con, "publish/artifact_runs").fetchall()
    finally:
        con.close()
    return next((run_key(artifact) for run_id, artifact in rows if run_key(run_id) == key), None)


def apply_retention(settings: Settings) -> list[str]:
    """Delete versions beyond the newest ``keep_versions`` (never the current one), with the working folders
    (``runs/<run>/``: snapshot, artifacts, shards) of those runs unless a kept version still scores with
    their artifact. Folders of runs that never published are left alone: one may be in progress."""
    keep = max(1, settings.publish.keep_versions)
    now = current(settings)
    versions = sorted(settings.layout.versions.glob("recs-*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    dropped = [p for p in versions[keep:] if not (now and p.name == now["version"])]
    needed = {_serving_artifact_run(p) for p in versions if p not in dropped}
    removed = []
    for path in dropped:
        path.unlink()
        removed.append(path.name)
        key = OutputLayout.version_key(path)
        run_files = settings.layout.run(key)
        if key not in needed and run_files.root.is_dir():
            shutil.rmtree(run_files.root)
            removed.append(f"runs/{key}")
    return removed


def publish(settings: Settings, run: RunContext, published_at: datetime) -> dict[str, Any]:
    """Make the run's checked release current: Parquet partitions, then the serving database."""
    version = settings.layout.version(run.key)
    if not version.exists():
        raise FileNotFoundError(f"run {run.run_id} has no checked release at {version}; run the output checks first")
    run_date = run.run_date.isoformat() if run.run_date else None
    with publish_lock(settings):
        written = _export_parquet(settings, run, version)
        newer = newer_published(settings, run)
        if newer:
            # A backfill of an earlier day: its Parquet partitions are history, but the serving database keeps
            # showing the latest day.
            log.info("run %s (%s) published to Parquet only; %s stays current (day %s)", run.run_id, run_date,
                     newer["run_id"], newer["run_date"])
        else:
            _make_current(settings, version, run.run_id, run_date, published_at)
        removed = apply_retention(settings)
    log.info("published run %s: %s (and %d parquet paths); retention removed %s", run.run_id,
             "parquet only" if newer else settings.layout.serving, len(written), removed or "nothing")
    return {"serving": str(settings.layout.serving), "version": version.name, "parquet": written, "removed": removed,
            "made_current": not newer}


def rollback(settings: Settings, run_id: str, published_at: datetime) -> dict[str, Any]:
    """Make the kept version of an earlier run current again (the serving database; Parquet keeps its dates)."""
    version = settings.layout.version(run_key(run_id))
    if not version.exists():
        kept = sorted(p.name for p in settings.layout.versions.glob("recs-*.duckdb"))
        raise FileNotFoundError(f"no kept version for run {run_id}; kept: {', '.join(kept) or 'none'}")
    con = duckdb.connect(str(version), read_only=True)
    try:
        run_date = run_sql(con, "publish/run_date", {"run_id": run_id}).fetchone()
    finally:
        con.close()
    with publish_lock(settings):
        _make_current(settings, version, run_id, run_date[0] if run_date else None, published_at)
    log.info("rolled back to run %s (%s)", run_id, version.name)
    return {"serving": str(settings.layout.serving), "version": version.name}
