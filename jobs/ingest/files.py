"""Ingest: load landing files into the warehouse exactly once, typed and checked, with nothing dropped silently.

``ingest_landing`` loads every new file under ``landing/<kind>`` for each of ``KINDS`` (ratings, item metadata,
and the business rules: exclusions and promotions); ``ingest_paths`` loads files an operator names
(``recs ingest PATH...``) from anywhere. Per file:

1. The manifest (``ingested_files``, keyed by the resolved path) is consulted: an unchanged file (same size and
   sha256) is skipped; a changed one is an ``IngestError`` (a file is never reloaded or half-replaced).
2. Its layout is detected (``jobs.ingest.formats``): format from the extension, columns from the header line or
   the Parquet schema. Whole-file problems (empty file, missing column, wrong delimiter, corrupt Parquet, bytes
   that are not UTF-8, unknown extension) raise ``IngestError`` naming file, line, column and what was expected.
3. DuckDB reads and checks every row in set-based SQL (``sql/staging``): one staging statement types and checks
   all rows, then one statement appends the good rows and one the bad rows to ``quarantine`` (with line, column,
   reason and raw value), then the manifest row is written, all in ONE transaction: a crash leaves nothing.

Per file, n_rows_read = n_rows_loaded + n_rows_quarantined (``sql/staging/check_reconciles.sql`` checks it after every ingest).
Rows are never looped over in Python, and DuckDB streams the file, so a file larger than memory loads with a
``memory_limit`` set on the connection (DuckDB spills to its temp directory).

Choices: a CSV that is not valid UTF-8 is rejected whole (IngestError naming the first bad line; re-save it as
UTF-8) rather than loaded in part; blank lines are not rows; extra columns are ignored; ids are text ('1' and
'01' differ). Exact duplicates are quarantined; re-ratings (same user and item, another time) are loaded, and the
latest wins later, in ``sql/training/interactions.sql``. Exclusion and promotion rows are appended as they are,
repeats included: a rule stated twice is the same rule, so a repeat is harmless and is not quarantined.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from jobs import sql, warehouse
from jobs.clock import naive_utc, utcnow
from jobs.config import Settings
from jobs.faults import maybe_crash
from jobs.files import sha256_file
from jobs.ingest.formats import (
    PARQUET_SUFFIXES,
    FileFormat,
    IngestError,
    NulFinder,
    StillWriting,
    check_complete,
    detect_format,
    display_path,
    first_inconsistent_line_break,
    first_invalid_utf8_line,
)
from jobs.sql import Quoted, q_identifier, q_literal, run_sql

__all__ = ["FileResult", "IngestError", "IngestResult", "ingest_all", "ingest_paths"]

log = logging.getLogger("recs.ingest")

#: Landing kinds, in the order ``ingest_landing`` loads them. Each but ratings stages into ``stg_<kind>``
#: (``sql/staging/stg_<kind>.sql``) and loads with ``sql/staging/load_<kind>.sql``.
KINDS = ("ratings", "items", "exclusions", "promotions")
#: The temp tables one file's ingest may leave (dropped after every file, loaded or not).
_TEMP_TABLES = (*(f"stg_{kind}" for kind in KINDS if kind != "ratings"), "stg_rating_lines", "stg_rating_duplicates",
                "ingest_parquet")


@dataclass
class FileResult:
    """One file of an ingest call. Counts are for this call: a skipped (already ingested) file reads nothing."""

    path: str
    kind: str
    file_format: str
    n_rows_read: int
    n_rows_loaded: int
    n_rows_quarantined: int
    skipped: bool


@dataclass
class IngestResult:
    files: list[FileResult] = field(default_factory=list)
    #: Landing files not ingested this time: path, kind, outcome ('set_aside' or 'deferred') and reason.
    set_aside: list[dict[str, str]] = field(default_factory=list)
    #: The errors behind ``set_aside``, in the same order.
    errors: list[IngestError] = field(default_factory=list, repr=False)

    @property
    def n_rows_read(self) -> int:
        return sum(f.n_rows_read for f in self.files)

    @property
    def n_rows_loaded(self) -> int:
        return sum(f.n_rows_loaded for f in self.files)

    @property
    def n_rows_quarantined(self) -> int:
        return sum(f.n_rows_quarantined for f in self.files)

    @property
    def n_files_new(self) -> int:
        return sum(not f.skipped for f in self.files)

    def to_dict(self, max_files: int = 50) -> dict[str, Any]:
        """Counts (JSON-able, small enough for an XCom) and the first ``max_files`` new files."""
        new = [asdict(f) for f in self.files if not f.skipped]
        return {
            "n_files": len(self.files),
            "n_files_new": self.n_files_new,
            "n_files_skipped": len(self.files) - self.n_files_new,
            "n_rows_read": self.n_rows_read,
            "n_rows_loaded": self.n_rows_loaded,
            "n_rows_quarantined": self.n_rows_quarantined,
            # The runs table counts rating rows only (item metadata and rule rows are not ratings).
            "n_ratings_loaded": sum(f.n_rows_loaded for f in self.files if f.kind == "ratings"),
            "n_ratings_quarantined": sum(f.n_rows_quarantined for f in self.files if f.kind == "ratings"),
            "new_files": new[:max_files],
            "set_aside": self.set_aside[:max_files],
        }


def ingest_paths(
    settings: Settings,
    paths: Iterable[str | os.PathLike[str]],
    as_of: datetime | None = None,
    kind: str = "ratings",
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> IngestResult:
    """Load files an operator names, from anywhere (symlinks are followed: this is the trusted route)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    jobs: list[tuple[Path, str, str]] = []
    errors: list[tuple[str, str, IngestError]] = []
    for raw in paths:
        given = Path(raw).expanduser()
        shown = display_path(given.absolute(), settings.home)
        if not given.is_file():
            found = "nothing" if not given.exists() else "not a regular file"
            errors.append((str(given), kind, IngestError(shown, None, None, "a regular file", found)))
            continue
        jobs.append((given.resolve(), shown, kind))
    return ingest_all(settings, jobs, as_of, con, errors)


def ingest_all(
    settings: Settings,
    jobs: list[tuple[Path, str, str]],
    as_of: datetime | None,
    con: duckdb.DuckDBPyConnection | None,
    errors: list[tuple[str, str, IngestError]],
    run_id: str | None = None,
    strict: bool = True,
) -> IngestResult:
    """Ingest ``jobs`` ((resolved path, path as shown, kind)), each file in its own transaction.

    ``errors`` holds files already refused (key, kind, error). ``strict`` (an operator's ``recs ingest``): after
    trying every file, the first failure is raised, the others in ``error.others``, the loaded files in
    ``error.result``. Not strict (the landing folder, every night): each failure is set aside with its reason
    (``set_aside_files``, a warning in the log, ``result.set_aside``) and the rest goes on.
    """
    result = IngestResult()
    as_of = as_of or utcnow()  # the moment of ingest: the future check always applies
    if con is None:
        with warehouse.connect(settings) as own:
            _run_jobs(own, settings, jobs, as_of, result, errors, run_id)
            _set_aside(own, result, errors, run_id, strict)
    else:
        _run_jobs(con, settings, jobs, as_of, result, errors, run_id)
        _set_aside(con, result, errors, run_id, strict)
    log.info("ingest: %d file(s), %d new; %d rows read, %d loaded, %d quarantined; %d file(s) not ingested",
             len(result.files), result.n_files_new, result.n_rows_read, result.n_rows_loaded,
             result.n_rows_quarantined, len(errors))
    if errors and strict:
        first = errors[0][2]
        first.others = [error for _, _, error in errors[1:]]
        first.result = result
        raise first
    return result


def _set_aside(con: duckdb.DuckDBPyConnection, result: IngestResult, errors: list[tuple[str, str, IngestError]],
               run_id: str | None, strict: bool) -> None:
    """Record each failed landing file, deferred or set aside, with its reason (not for an operator's own files)."""
    if strict:
        return
    seen_at = utcnow()
    for key, kind, error in errors:
        outcome = "deferred" if isinstance(error, StillWriting) else "set_aside"
        log.warning("%s %s: %s", "deferred" if outcome == "deferred" else "set aside", error.path, error)
        run_sql(con, "staging/set_aside", {"file_path": key, "file_kind": kind, "outcome": outcome,
                                           "reason": str(error), "seen_at": seen_at, "run_id": run_id})
        result.set_aside.append({"path": error.path, "kind": kind, "outcome": outcome, "reason": str(error)})
        result.errors.append(error)


def _run_jobs(con: duckdb.DuckDBPyConnection, settings: Settings, jobs: list[tuple[Path, str, str]],
              as_of: datetime, result: IngestResult, errors: list[tuple[str, str, IngestError]],
              run_id: str | None) -> None:
    warehouse.create_schema(con)
    # Naive ISO timestamps are UTC (offsets are converted to UTC); line numbers rely on DuckDB keeping file order.
    saved = con.execute(
        "select current_setting('TimeZone'), current_setting('preserve_insertion_order')"
    ).fetchone()
    con.execute("set TimeZone = 'UTC'")
    con.execute("set preserve_insertion_order = true")
    try:
        for path, shown, kind in jobs:
            try:
                result.files.append(_ingest_file(con, settings, path, shown, kind, as_of, run_id))
                run_sql(con, "staging/clear_set_aside", {"file_path": str(path)})
            except IngestError as exc:
                log.error("ingest failed: %s", exc)
                errors.append((str(path), kind, exc))
    finally:
        con.execute(f"set TimeZone = {sql.literal(saved[0])}")
        con.execute(f"set preserve_insertion_order = {'true' if saved[1] else 'false'}")
    check_reconciles(con, [str(path) for path, _, _ in jobs])


def check_reconciles(con: duckdb.DuckDBPyConnection, paths: list[str] | None = None) -> None:
    """Fail loudly if any of ``paths`` (None: every ingested file) lost rows: read = loaded + quarantined, and
    the warehouse holds exactly those rows (``sql/staging/check_reconciles.sql``)."""
    broken = run_sql(con, "staging/check_reconciles", {"files": paths}).fetchall()
    if broken:
        raise RuntimeError(f"ingest counts do not reconcile for {len(broken)} file(s): {broken[:5]}")


def _ingest_file(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path, shown: str, kind: str,
                 as_of: datetime, run_id: str | None) -> FileResult:
    started = time.perf_counter()
    check_complete(path, shown, settings.ingest.settle_seconds, time.time())
    before = path.stat()
    if before.st_size == 0:  # checked before hashing: an empty file is never "ingested"
        detect_format(con, path, shown, kind, settings.ingest)
    text = path.suffix.lower() not in PARQUET_SUFFIXES
    nul = NulFinder()
    digest = sha256_file(path, nul if text else None)
    known = run_sql(con, "staging/manifest_entry", {"file_path": str(path)}).fetchone()
    if known is not None:
        size, sha, ingested_at, file_format = known
        if size == before.st_size and sha == digest:
            log.info("ingest %s: already ingested at %s, unchanged; skipped", shown, ingested_at)
            return FileResult(shown, kind, file_format, 0, 0, 0, skipped=True)
        changed = [f"size {size} -> {before.st_size} bytes"] if size != before.st_size else []
        changed.append(f"sha256 {sha[:12]}... -> {digest[:12]}...")
        raise IngestError(shown, None, None, f"the file ingested at {ingested_at} unchanged (files are ingested "
                          "exactly once; land changes as a new file)", "it changed: " + ", ".join(changed))
    if (nul_line := nul.line(path)) is not None:  # DuckDB reads a line of NULs as a blank line: dropped uncounted
        raise IngestError(shown, nul_line, None, "text without NUL bytes", "a NUL byte (a binary or corrupt file?)")
    fmt = detect_format(con, path, shown, kind, settings.ingest)
    staged = f"stg_{kind}"  # stg_ratings is a view over stg_rating_lines; the others are tables
    now = utcnow()
    con.execute("begin transaction")
    try:
        counts = _load(con, settings, path, shown, kind, fmt, staged, as_of, now)
        maybe_crash("ingest:before_commit")  # crash-safety tests: rows written, manifest not, nothing committed
        after = path.stat()
        if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            raise StillWriting(shown, None, None, "a file that does not change while it is ingested",
                               "it changed during the load (nothing was loaded; left for a later run)")
        run_sql(con, "staging/record_file", {
            "file_path": str(path), "file_kind": kind, "file_format": fmt.name, "size_bytes": before.st_size,
            "sha256": digest, **counts, "ingested_at": now, "run_id": run_id,
        })
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        for view in ("stg_ratings", "ingest_source", "ingest_lines", "parquet_file_rows"):
            con.execute(f"drop view if exists {view}")
        for table in _TEMP_TABLES:
            con.execute(f"drop table if exists {table}")
    seconds = time.perf_counter() - started
    log.info("ingest %s (%s, %s): %d rows read, %d loaded, %d quarantined in %.1fs (%.0f rows/s)", shown, kind,
             fmt.name, counts["n_rows_read"], counts["n_rows_loaded"], counts["n_rows_quarantined"], seconds,
             counts["n_rows_read"] / seconds if seconds else 0.0)
    return FileResult(shown, kind, fmt.name, skipped=False, **counts)


def _load(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path, shown: str, kind: str, fmt: FileFormat,
          staged: str, as_of: datetime, now: datetime) -> dict[str, int]:
    """Stage, check and append one file's rows (inside the caller's transaction); its counts."""
    _stage(con, path, shown, kind, fmt, staged, _params(settings, kind, fmt, as_of))
    return _append(con, path, shown, kind, staged, now)


def _stage(con: duckdb.DuckDBPyConnection, path: Path, shown: str, kind: str, fmt: FileFormat, staged: str,
           params: dict[str, Any]) -> None:
    """Read the file into ``staged``: every row typed and checked, with its line and, if it fails, why."""
    try:
        if fmt.reader == "parquet":
            run_sql(con, "staging/src_parquet_rows", path=q_literal(str(path)))
            run_sql(con, "staging/parquet_lines")
        elif fmt.reader == "parquet_table":
            run_sql(con, "staging/src_parquet_table", path=q_literal(str(path)))
            run_sql(con, "staging/src_parquet_table_rows")
            run_sql(con, "staging/parquet_lines")
        else:
            run_sql(con, "staging/src_text_lines", path=q_literal(str(path)), encoding=q_literal(fmt.encoding),
                    delimiter=q_literal(fmt.delimiter), quote=q_literal(fmt.quote),
                    field_pattern=q_literal(fmt.field_pattern()))
        if kind == "ratings":  # typed and checked on every core, then numbered by file order (see the SQL)
            run_sql(con, "staging/stg_rating_lines", params)
            run_sql(con, "staging/stg_ratings", n_header_lines=Quoted(str(int(fmt.n_header_lines))))
        else:  # small files: numbered on one thread, then typed and checked in sql/staging/stg_<kind>.sql
            run_sql(con, "staging/src_numbered_lines")
            run_sql(con, f"staging/{staged}", params)
    except duckdb.Error as exc:
        error = _read_error(exc, path, shown, fmt)
        if error is exc:
            raise
        raise error from None


def _params(settings: Settings, kind: str, fmt: FileFormat, as_of: datetime) -> dict[str, Any]:
    """The ``$parameters`` of the staging SQL of ``kind`` (run_sql passes each statement only those it uses)."""
    ingest = settings.ingest
    params: dict[str, Any] = {**fmt.staging_params(), "item_is_float": "item" in fmt.float_roles,
                              "user_is_float": "user" in fmt.float_roles}
    if kind == "ratings":
        params |= {"rating_min": ingest.rating_min, "rating_max": ingest.rating_max,
                   "future_limit": naive_utc(as_of) + timedelta(hours=ingest.future_tolerance_hours),
                   "earliest_limit": datetime.fromisoformat(ingest.earliest_timestamp)}
    elif kind == "items":
        params |= {"genre_flags_from": fmt.genre_flags_from}
    return params


def _append(con: duckdb.DuckDBPyConnection, path: Path, shown: str, kind: str, staged: str,
            now: datetime) -> dict[str, int]:
    """Append the staged good rows to the warehouse and the bad ones to quarantine; the file's counts."""
    n_read, n_failed = run_sql(con, "staging/staged_counts", staged=q_identifier(staged)).fetchone()
    quarantine_from = [staged]
    if kind == "ratings":
        run_sql(con, "staging/stg_rating_duplicates")
        quarantine_from.append("stg_rating_duplicates")
        n_failed += run_sql(con, "staging/staged_counts", staged=q_identifier("stg_rating_duplicates")).fetchone()[1]
    n_loaded = run_sql(con, f"staging/load_{kind}", {"source_file": str(path)}).fetchone()[0]
    for table in quarantine_from:
        run_sql(con, "staging/load_quarantine", {"source_file": str(path), "quarantined_at": now},
                staged=q_identifier(table))
    if n_read != n_loaded + n_failed:  # the invariant the manifest promises; never commit a file that breaks it
        raise RuntimeError(f"{shown}: {n_read} rows read but {n_loaded} loaded + {n_failed} quarantined")
    return {"n_rows_read": n_read, "n_rows_loaded": n_loaded, "n_rows_quarantined": n_failed}


_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")


def _read_error(exc: duckdb.Error, path: Path, shown: str, fmt: FileFormat) -> Exception:
    """A DuckDB failure to read the file as an IngestError naming the line where known; other errors as they are."""
    text = str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    if not isinstance(exc, duckdb.IOException | duckdb.InvalidInputException | duckdb.ConversionException):
        return exc
    if fmt.reader != "text":
        return IngestError(shown, None, None, "a readable Parquet file", first)
    unicode = "invalid unicode" in text.lower()
    if "reached an invalid state" in text:  # DuckDB names no line: find the line break it tripped on
        found = first_inconsistent_line_break(path)
        line, what = found if found else (None, first)
        return IngestError(shown, line, None, "the same line break (LF or CRLF) at the end of every line", what)
    if not unicode and not _CSV_LINE.search(text):
        return exc
    if unicode:
        bad = first_invalid_utf8_line(path)
        line, sample = bad if bad else (None, b"")
        return IngestError(shown, line, None, f"{fmt.encoding.upper()} text (save the file as UTF-8)",
                           f"bytes that are not UTF-8 ({sample!r})")
    match = _CSV_LINE.search(text)
    line = int(match.group(1)) if match else None
    if "maximum line size" in text.lower():
        return IngestError(shown, line, None, "lines of at most 2 MiB",
                           "a longer line (a binary file, or line breaks missing?)")
    if "Expected Number of Columns: 1" in text:
        return IngestError(shown, line, None, "text without NUL bytes", "a NUL byte (a binary or corrupt file?)")
    return IngestError(shown, line, None, f"a readable {fmt.name} file", first)
