"""The Parquet side of a publish: a whole new ``parquet/`` tree built aside, then swapped in with one rename.

What a Parquet reader may rely on (docs/tables.md, "Reading the Parquet files"):

- the tree under ``outputs/parquet/`` changes in one step: the new tree is built in ``outputs/.parquet-<run>/``
  (tonight's partitions and whole tables written there; every other file a hard link to the current tree's, so
  nothing is copied), then exchanged with the current one by ``renameat2(RENAME_EXCHANGE)``. A crash before that
  leaves the current tree exactly as it was; after it, the new tree is there whole. So no path ever shows one
  run's recommendations beside another run's popular items;
- a reader that resolved its paths before the swap keeps reading the old tree's files: they are never written
  in place, only unlinked, and an open file stays readable;
- each ``<table>/run_date=D/`` holds the run that processed day D; each whole table (``<table>/<table>.parquet``)
  is the latest publish's; ``_published.json`` names that run (Spark, Hive and DuckDB's ``*.parquet`` globs skip
  files whose names start with ``_`` or ``.``).

Where ``renameat2`` is missing (not Linux, or a file system that refuses it) the swap is two renames, with a
moment in which ``parquet/`` does not exist.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
from datetime import datetime
from pathlib import Path

import duckdb

from jobs.faults import maybe_crash
from jobs.files import write_json
from jobs.layout import OutputLayout
from jobs.records import RunContext
from jobs.sql import literal, q_identifier, q_literal, run_sql

#: Tables published per run date (partitioned) and those published whole (their full history each time).
PARTITIONED = ("recommendations", "placement_recommendations", "popular_items", "similar_items")
WHOLE = ("runs", "model_metrics", "champions", "items", "run_monitoring", "quarantine_reasons", "run_steps")
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2); False where the call or the file system does not allow it."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if not hasattr(libc, "renameat2"):
        return False
    at_fdcwd = -100
    if libc.renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            return False
        raise OSError(code, os.strerror(code), str(a))
    return True


def swap_in(staged: Path, final: Path) -> None:
    """Make ``staged`` the directory at ``final`` in one step; what it replaced is left at ``staged``."""
    if not final.exists():
        os.rename(staged, final)
        staged.mkdir()
        return
    if _exchange(staged, final):
        return
    old = final.with_name(final.name + ".old")
    os.rename(final, old)
    os.rename(staged, final)
    os.rename(old, staged)


def _link_tree(source: Path, target: Path) -> None:
    """``target`` as a copy of ``source`` made of hard links (the files are never written in place)."""
    for folder, _, names in os.walk(source):
        here = target / Path(folder).relative_to(source)
        here.mkdir(parents=True, exist_ok=True)
        for name in names:
            os.link(Path(folder) / name, here / name)


def _write_tables(con: duckdb.DuckDBPyConnection, layout: OutputLayout, tree: Path, run: RunContext) -> list[str]:
    """Tonight's tables into ``tree`` (a staging copy of parquet/), replacing, never overwriting, what is there."""
    run_date = run.run_date.isoformat() if run.run_date else "undated"
    written = []
    for table in (*PARTITIONED, *WHOLE):
        if table in PARTITIONED:
            final = tree / layout.parquet_partition(table, run_date).relative_to(layout.parquet)
            shutil.rmtree(final, ignore_errors=True)  # unlinks the hard links: the live tree keeps its files
            final.mkdir(parents=True)
            target = final / "part-0.parquet"
        else:
            final = target = tree / layout.parquet_whole(table).relative_to(layout.parquet)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
        run_sql(con, "publish/copy_table", table=q_identifier(table), path=q_literal(target))
        written.append(str(layout.parquet / final.relative_to(tree)))
        maybe_crash(f"publish:after_parquet_{table}")
    return written


def export_parquet(layout: OutputLayout, run: RunContext, version: Path, published_at: datetime) -> list[str]:
    """Publish every table of ``version`` to Parquet in one swap (see the module's docstring); the paths written."""
    for leftover in layout.root.glob(".parquet-*"):  # a publish that stopped while building its tree
        shutil.rmtree(leftover, ignore_errors=True)
    staging = layout.parquet_staging(run.key)
    staging.mkdir(parents=True)
    if layout.parquet.exists():
        _link_tree(layout.parquet, staging)
    con = duckdb.connect()
    try:
        con.execute(f"attach {literal(version)} as release (read_only)")
        written = _write_tables(con, layout, staging, run)
    finally:
        con.close()
    marker = staging / layout.parquet_marker.relative_to(layout.parquet)
    marker.unlink(missing_ok=True)
    write_json(marker, {"run_id": run.run_id, "run_date": run.run_date.isoformat() if run.run_date else None,
                        "published_at": published_at.isoformat(), "tables": [*PARTITIONED, *WHOLE]})
    maybe_crash("publish:before_parquet_swap")
    swap_in(staging, layout.parquet)
    shutil.rmtree(staging, ignore_errors=True)  # the tree it replaced
    return written
