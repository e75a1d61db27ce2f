"""What the Recommendations view and the HTML report show, read from a published version and a run's snapshot.

Everything comes from a connection that ``jobs.serving.open_published`` opened (read-only, no file access), except
a user's ratings, which are not published: those come from the run's snapshot files, through a connection that
may read those three files and nothing else (``snapshot_connection``). Tables another step publishes later
(``run_monitoring``, ``quarantine_reasons``, ``run_steps``) may be missing from an older version: they read as
``None`` and the page says "no data yet".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from jobs.layout import RunFiles
from jobs.records import run_key
from jobs.sql import q_literal, run_sql

#: The snapshot files a user lookup reads (jobs/train/snapshot.py).
SNAPSHOT_FILES = ("interactions", "users", "items")


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def where_run(self, run_ids: set[str]) -> Table:
        i = self.columns.index("run_id")
        return Table(self.columns, [row for row in self.rows if row[i] in run_ids])


def fetch(con: duckdb.DuckDBPyConnection, query: str, params: dict[str, Any] | None = None) -> Table | None:
    """``sql/<query>.sql`` as a table; ``None`` when a table it reads is not in this version."""
    try:
        cursor = run_sql(con, query, params)
    except duckdb.CatalogException:
        return None
    return Table([d[0] for d in cursor.description], cursor.fetchall())


@dataclass
class History:
    """Every run up to ``run_id`` (the latest when none) and what the version records about each."""

    runs: Table
    run_id: str | None
    published_run: str | None
    metrics: Table | None = None
    champions: Table | None = None
    quarantine: Table | None = None
    steps: Table | None = None
    monitoring: Table | None = None
    labels: list[str] = field(default_factory=list)

    @property
    def run_ids(self) -> list[str]:
        return [r["run_id"] for r in self.runs.dicts()]

    def run(self, run_id: str) -> dict[str, Any] | None:
        return next((r for r in self.runs.dicts() if r["run_id"] == run_id), None)


def read_history(con: duckdb.DuckDBPyConnection, run_id: str | None = None) -> History:
    """The runs up to ``run_id`` (all when ``None``), and their metrics, decisions, quarantine, steps and drift."""
    published = fetch(con, "ui/published_run")
    runs = fetch(con, "ui/runs", {"run_id": run_id}) or Table([], [])
    history = History(runs=runs, run_id=run_id or (runs.rows[-1][0] if runs.rows else None),
                      published_run=published.rows[0][0] if published and published.rows else None)
    ids = set(history.run_ids)
    for name, query in (("metrics", "ui/metric_history"), ("champions", "ui/champions"),
                        ("quarantine", "ui/quarantine_reasons"), ("steps", "ui/run_steps"),
                        ("monitoring", "ui/run_monitoring")):
        table = fetch(con, query)
        setattr(history, name, table.where_run(ids) if table is not None else None)
    # Axis labels: the day each run processed, with the run id where one day was run more than once.
    days = [str(r["logical_date"]) for r in runs.dicts()]
    history.labels = [d if days.count(d) == 1 else f"{d} {r}" for d, r in zip(days, history.run_ids)]
    return history


def snapshot_connection(files: RunFiles) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that can read the snapshot's interactions, users and items files and nothing else."""
    paths = [str(files.snapshot_file(name)) for name in SNAPSHOT_FILES]
    missing = [str(files.snapshot_file(name)) for name in SNAPSHOT_FILES if not files.snapshot_file(name).exists()]
    if missing:
        raise FileNotFoundError(f"the run's snapshot is gone: {', '.join(missing)}")
    con = duckdb.connect()
    con.execute("set allowed_paths = $paths", {"paths": paths})
    con.execute("set enable_external_access = false")
    con.execute("set autoinstall_known_extensions = false")
    con.execute("set autoload_known_extensions = false")
    con.execute("set lock_configuration = true")
    return con


@dataclass
class UserLookup:
    user_id: str
    placement: str | None
    run_id: str | None = None
    model: str | None = None
    recommendations: Table | None = None
    ratings: Table | None = None
    explanations: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def lookup_user(con: duckdb.DuckDBPyConnection, run_files: Callable[[str], RunFiles], user_id: str,
                placement: str | None = None, recent: int = 10) -> UserLookup:
    """A user's published list, their latest ratings in the serving run's snapshot, and for each recommended item
    the rated item most similar to it under the champion's item-item similarities (``similar_items`` rows whose
    method is the champion model). ``run_files`` maps a run key to its folder (``settings.layout.run``)."""
    found = UserLookup(user_id=user_id, placement=placement)
    found.recommendations = fetch(con, "serving/user_list", {"user_id": user_id, "placement": placement})
    rows = found.recommendations.dicts() if found.recommendations else []
    if not rows:
        found.notes.append(f"user {user_id} has no published list" + (f" in placement {placement}" if placement else ""))
        return found
    found.run_id, found.model = rows[0]["run_id"], rows[0]["model"]
    run = fetch(con, "ui/runs", {"run_id": found.run_id})
    champion = next((r["champion_model"] for r in run.dicts() if r["run_id"] == found.run_id), None) if run else None
    found.model = champion or found.model
    files = run_files(run_key(found.run_id))
    try:
        snap = snapshot_connection(files)
    except FileNotFoundError as exc:
        found.notes.append(f"no ratings to show: {exc}")
        return found
    try:
        ratings = fetch_snapshot(snap, files, user_id)
    finally:
        snap.close()
    found.ratings = Table(ratings.columns, ratings.rows[:recent])
    similar = fetch(con, "ui/has_similarities", {"method": found.model})
    if not similar or not similar.rows[0][0]:
        found.notes.append(f"no item-item similarity for {found.model}")
        return found
    history = [r[0] for r in ratings.rows] or [""]
    explained = fetch(con, "ui/explanations", {"method": found.model, "history": history,
                                                "recommended": [r["item_id"] for r in rows]})
    found.explanations = {r["recommended_item_id"]: r for r in (explained.dicts() if explained else [])}
    return found


def fetch_snapshot(con: duckdb.DuckDBPyConnection, files: RunFiles, user_id: str) -> Table:
    """The user's ratings in the snapshot, newest first."""
    fills = {name: q_literal(files.snapshot_file(name)) for name in SNAPSHOT_FILES}
    cursor = run_sql(con, "ui/snapshot_user_history", {"user_id": user_id}, **fills)
    return Table([d[0] for d in cursor.description], cursor.fetchall())
