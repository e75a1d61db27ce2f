"""Reading the published database, as consumers do: read-only, and nothing else on disk.

Every read path the product offers (``recs query``, ``recs recommend``, ``recs status``, the benchmarks' reads of
what was published) opens ``recs.duckdb`` through ``open_published``. The connection is read-only, cannot reach
any other file (no ``COPY ... TO``, ``EXPORT DATABASE``, ``read_csv('/etc/passwd')``, ``ATTACH``), cannot install
or load extensions, and its configuration is locked, so a query cannot switch any of that back on.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

#: DuckDB settings of a consumer connection; ``lock_configuration`` comes last and freezes the rest.
LOCKED_DOWN = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "lock_configuration": True,
}


class NotPublished(FileNotFoundError):
    """Nothing has been published at this path yet."""


def open_published(path: Path) -> duckdb.DuckDBPyConnection:
    """A locked-down, read-only connection to a published database file."""
    if not path.exists():
        raise NotPublished(f"nothing published yet at {path}; run `recs run` (or `make demo`) first")
    return duckdb.connect(str(path), read_only=True, config=dict(LOCKED_DOWN))
