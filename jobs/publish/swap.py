"""Make a checked release current, atomically, for readers in other processes; roll back; keep history.

DuckDB: each release is its own file in ``versions/``, its sha256 recorded beside it when its checks passed.
``recs.duckdb`` is a *copy* of the current version (never a hard link: a read-write open of the serving file
must not be able to change a kept version), staged under a temporary name, opened once to prove it reads,
then put in place by ``rename(2)``. A reader that opened the old file keeps reading it (same inode) and never
waits on a lock held by the pipeline; a reader opening after the rename gets the new one. A WAL that a
read-write client left beside ``recs.duckdb`` would make the new file unreadable, so publishing removes it
(with a warning: those writes were never part of a published version).

Parquet: ``jobs.publish.parquet``. Only one publish or rollback runs at a time (an exclusive lock file).
A rollback pins the serving file: later runs publish to Parquet and ``versions/`` but leave ``recs.duckdb`` on
the rolled-back version, saying so, until a run is forced (``force_publish``).
"""

from __future__ import annotations

import fcntl
import logging
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
from jobs.files import remove_stale_temporaries, replacing, sha256_file, write_json
from jobs.layout import OutputLayout
from jobs.publish import parquet
from jobs.publish.release import current, newer_published
from jobs.records import RunContext, run_key
from jobs.sql import run_sql

log = logging.getLogger("recs.publish")


class PublishBusy(RuntimeError):
    """Another publish holds the lock."""


class VersionChanged(RuntimeError):
    """A kept version's bytes no longer match the checksum recorded when it was published."""


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


def verify_version(layout: OutputLayout, key: str) -> str:
    """The version's sha256, after checking it is the one recorded when it was published."""
    version, recorded = layout.version(key), layout.version_checksum(key)
    if not recorded.exists():
        raise VersionChanged(f"{version} has no recorded checksum ({recorded.name}): it was not published by this "
                             "pipeline, or its record was removed; refusing to serve it")
    expected, actual = recorded.read_text().strip(), sha256_file(version)
    if actual != expected:
        raise VersionChanged(f"{version} changed after it was published (sha256 {expected[:12]}... recorded, "
                             f"{actual[:12]}... now): refusing to serve it")
    return actual


def _drop_stale_wal(serving: Path) -> None:
    wal = serving.with_name(serving.name + ".wal")
    if wal.exists():
        wal.unlink()
        log.warning("removed %s: a read-write client opened %s and wrote to it; those writes were never part of a "
                    "published version (open the serving file read-only)", wal, serving)


def _make_current(layout: OutputLayout, key: str, run_id: str, run_date: str | None, published_at: datetime,
                  pinned: bool = False) -> None:
    """Serve version ``key``: verified, copied aside, proven readable, renamed over ``recs.duckdb``."""
    digest = verify_version(layout, key)
    with replacing(layout.serving) as tmp:
        shutil.copyfile(layout.version(key), tmp)
        duckdb.connect(str(tmp), read_only=True).close()  # a copy that does not open is never served
        maybe_crash("publish:before_swap")
        _drop_stale_wal(layout.serving)
    _drop_stale_wal(layout.serving)
    write_json(layout.current_pointer, {"run_id": run_id, "run_date": run_date, "version": layout.version(key).name,
                                        "sha256": digest, "published_at": published_at.isoformat(),
                                        "pinned": pinned})


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
    layout = settings.layout
    keep = max(1, settings.publish.keep_versions)
    now = current(settings)
    versions = sorted(layout.versions.glob("recs-*.duckdb"), key=lambda p: p.stat().st_mtime, reverse=True)
    dropped = [p for p in versions[keep:] if not (now and p.name == now["version"])]
    needed = {_serving_artifact_run(p) for p in versions if p not in dropped}
    removed = []
    for path in dropped:
        key = OutputLayout.version_key(path)
        path.unlink()
        layout.version_checksum(key).unlink(missing_ok=True)
        removed.append(path.name)
        run_files = layout.run(key)
        if key not in needed and run_files.root.is_dir():
            shutil.rmtree(run_files.root)
            removed.append(f"runs/{key}")
    return removed


def publish(settings: Settings, run: RunContext, published_at: datetime, force: bool = False) -> dict[str, Any]:
    """Make the run's checked release current: Parquet, then the serving database (unless a later day is
    published, or a rollback pinned the serving file and the run is not forced)."""
    layout = settings.layout
    version = layout.version(run.key)
    if not version.exists():
        raise FileNotFoundError(f"run {run.run_id} has no checked release at {version}; run the output checks first")
    run_date = run.run_date.isoformat() if run.run_date else None
    with publish_lock(settings):
        remove_stale_temporaries(layout.root)
        verify_version(layout, run.key)
        written = parquet.export_parquet(layout, run, version, published_at)
        held = _why_not_current(settings, run, force)
        if held:
            log.warning("run %s (%s) published to Parquet and versions/ only: %s", run.run_id, run_date, held)
        else:
            _make_current(layout, run.key, run.run_id, run_date, published_at)
        removed = apply_retention(settings)
    log.info("published run %s: %s (and %d parquet paths); retention removed %s", run.run_id,
             "parquet only" if held else layout.serving, len(written), removed or "nothing")
    return {"serving": str(layout.serving), "version": version.name, "parquet": written, "removed": removed,
            "made_current": not held, "held": held}


def _why_not_current(settings: Settings, run: RunContext, force: bool) -> str:
    """Why ``recs.duckdb`` keeps serving what it serves instead of ``run`` ('' when tonight becomes current)."""
    newer = newer_published(settings, run)
    if newer:  # a backfill of an earlier day: its Parquet partitions are history
        return f"{newer['run_id']} (day {newer['run_date']}) stays current"
    now = current(settings)
    if now and now.get("pinned") and not force:
        return (f"recs.duckdb stays on run {now['run_id']}, pinned by `recs rollback` at {now['published_at']}; "
                "publish with force_publish (`recs run --force-publish`) to make a new run current")
    return ""


def rollback(settings: Settings, run_id: str, published_at: datetime) -> dict[str, Any]:
    """Serve the kept version of an earlier run again, verified against its checksum, and pin it there.

    Parquet keeps its dates (each day's partition is that day's run)."""
    layout = settings.layout
    key = run_key(run_id)
    version = layout.version(key)
    if not version.exists():
        kept = sorted(p.name for p in layout.versions.glob("recs-*.duckdb"))
        raise FileNotFoundError(f"no kept version for run {run_id}; kept: {', '.join(kept) or 'none'}")
    con = duckdb.connect(str(version), read_only=True)
    try:
        run_date = run_sql(con, "publish/run_date", {"run_id": run_id}).fetchone()
    finally:
        con.close()
    with publish_lock(settings):
        _make_current(layout, key, run_id, run_date[0] if run_date else None, published_at, pinned=True)
    log.info("rolled back to run %s (%s); pinned until a run is published with force_publish", run_id, version.name)
    return {"serving": str(layout.serving), "version": version.name, "pinned": True}
