"""Running the SQL in ``sql/``: the helpers every step uses to fill and execute a file's statement.

SQL lives in ``sql/`` (one statement per file). Files may contain ``{{ name }}`` placeholders; they are filled
only with values quoted here (``literal`` / ``identifier``), never with raw strings, so a file name or a
configured column name cannot change the meaning of a statement. Plain values go through ``$name`` parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import duckdb

from jobs.config import SQL_DIR

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
    """Execute ``sql/<name>.sql`` with named ``$parameters`` and quoted placeholders; returns the cursor.

    Only the parameters the statement uses are passed (DuckDB refuses unused ones), so callers may hand one
    dict of values to several files; placeholders the file does not have are ignored likewise.
    """
    return execute(con, sql_text(name, **fills), params)


def execute(con: duckdb.DuckDBPyConnection, text: str, params: Mapping[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
    """Execute ``text`` with those of ``params`` that it uses."""
    used = {k: v for k, v in (params or {}).items() if re.search(rf"\${re.escape(k)}\b", text)}
    return con.execute(text, used) if used else con.execute(text)


def sql_files(folder: str) -> list[str]:
    """Names (for ``run_sql``) of the SQL files in ``sql/<folder>/``, in file-name order."""
    return [f"{folder}/{p.stem}" for p in sorted((SQL_DIR / folder).glob("*.sql"))]
