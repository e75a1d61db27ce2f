"""The warehouse: the pipeline's own DuckDB database, and the helpers every step uses to run SQL files.

SQL lives in ``sql/`` (one statement per file). Files may contain ``{{ name }}`` placeholders; they are filled
only with values quoted here (``literal`` / ``identifier``), never with raw strings, so a file name or a
configured column name cannot change the meaning of a statement. Plain values go through ``$name`` parameters.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from jobs.config import SQL_DIR, Settings

_PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def literal(value: Any) -> str:
    """A SQL string literal for ``value``: single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier for ``name``: double quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


class Quoted(str):
    """A string already made safe for SQL by ``literal`` or ``identifier``."""


def q_literal(value: Any) -> Quoted:
    return Quoted(literal(value))


def q_identifier(name: str) -> Quoted:
    return Quoted(identifier(name))


def sql_text(name: str, **fills: Quoted) -> str:
    """The text of ``sql/<name>.sql`` with its ``{{ placeholders }}`` filled by quoted values."""
    path = SQL_DIR / f"{name}.sql"
    text = path.read_text()

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in fills:
            raise KeyError(f"{path}: no value given for placeholder {{{{ {key} }}}}")
        value = fills[key]
        if not isinstance(value, Quoted):
            raise TypeError(f"{path}: placeholder {key} must be filled with q_literal()/q_identifier()")
        return value

    return _PLACEHOLDER.sub(fill, text)


def run_sql(
    con: duckdb.DuckDBPyConnection,
    name: str,
    params: Mapping[str, Any] | None = None,
    **fills: Quoted,
) -> duckdb.DuckDBPyConnection:
    """Execute ``sql/<name>.sql`` with named ``$parameters`` and quoted placeholders; returns the cursor."""
    text = sql_text(name, **fills)
    if params:
        return con.execute(text, dict(params))
    return con.execute(text)


def sql_files(folder: str) -> list[str]:
    """Names (for ``run_sql``) of the SQL files in ``sql/<folder>/``, in file-name order."""
    return [f"{folder}/{p.stem}" for p in sorted((SQL_DIR / folder).glob("*.sql"))]


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
    path: Path = settings.warehouse_path
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
