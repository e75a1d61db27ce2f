"""Build tonight's release aside and check it: a complete new serving database that nobody reads yet.

``build_release`` writes ``versions/recs-<run>.duckdb.unchecked`` from the run's files and the warehouse;
``check_release`` runs every ``sql/outputs/<table>/check_*.sql`` against it and only when all pass renames it
to ``versions/recs-<run>.duckdb``, the one name ``publish`` accepts. A failed check leaves the published
version untouched and fails the run, listing the offending rows.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from jobs.config import SQL_DIR, Settings
from jobs.faults import maybe_crash
from jobs.runs import RunContext
from jobs.score import scores_dir
from jobs.similar import similar_dir
from jobs.snapshot import snapshot_dir
from jobs.warehouse import literal, q_literal, run_sql, sql_files

log = logging.getLogger("recs.release")

#: Published tables, in build order; each has sql/outputs/<table>/build.sql and its checks beside it.
TABLES = ("recommendations", "popular_items", "similar_items", "runs", "model_metrics", "champions", "items")


class OutputCheckError(RuntimeError):
    """Tonight's outputs broke the contract; nothing was published."""


def current(settings: Settings) -> dict[str, Any] | None:
    """What is published now (run id and version file name), or None before the first publish."""
    pointer = settings.outputs_dir / "current.json"
    return json.loads(pointer.read_text()) if pointer.exists() else None


def newer_published(settings: Settings, run: RunContext) -> dict[str, Any] | None:
    """The published version when it is for a later day than ``run`` (which is then a backfill), else None."""
    now = current(settings)
    if now and now.get("run_date") and run.run_date and now["run_date"] > run.run_date.isoformat():
        return now
    return None


def version_path(settings: Settings, run: RunContext) -> Path:
    return settings.versions_dir / f"recs-{run.key}.duckdb"


def unchecked_path(settings: Settings, run: RunContext) -> Path:
    return version_path(settings, run).with_suffix(".duckdb.unchecked")


def build_release(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection, generated_at: datetime) -> dict[str, int]:
    """Write the run's tables into a new database file beside the published one; returns row counts."""
    run_dir = run.dir(settings)
    target = unchecked_path(settings, run)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, version_path(settings, run)):
        stale.unlink(missing_ok=True)
    parts = sorted(scores_dir(run_dir).glob("part-*.parquet"))
    if not parts:
        raise RuntimeError(f"run {run.run_id}: no score shards in {scores_dir(run_dir)}")
    similar = sorted(similar_dir(run_dir).glob("*.parquet"))
    params = {"run_id": run.run_id, "generated_at": generated_at}
    con.execute(f"attach {literal(target)} as release")
    try:
        run_sql(con, "outputs/recommendations/build", params, scores_glob=q_literal(str(scores_dir(run_dir) / "part-*.parquet")))
        run_sql(con, "outputs/popular_items/build", {"run_id": run.run_id}, popular_path=q_literal(run_dir / "popular_items.parquet"))
        if similar:
            run_sql(con, "outputs/similar_items/build", {"run_id": run.run_id}, similar_glob=q_literal(str(similar_dir(run_dir) / "*.parquet")))
        else:
            run_sql(con, "outputs/similar_items/build_empty")
        run_sql(con, "outputs/runs/build", params)
        for table in ("model_metrics", "champions", "items"):
            run_sql(con, f"outputs/{table}/build")
        counts = {t: con.execute(f"select count(*) from release.{t}").fetchone()[0] for t in TABLES}
        maybe_crash("release:before_detach")
        con.execute("checkpoint release")
    finally:
        con.execute("detach release")
    log.info("release built at %s: %s", target, counts)
    return counts


def _check_names(prefix: str = "check_") -> list[str]:
    return [name for table in TABLES for name in sql_files(f"outputs/{table}") if Path(name).name.startswith(prefix)]


def _run_checks(con: duckdb.DuckDBPyConnection, names: list[str], params: dict[str, Any]) -> list[str]:
    """Each check returns the rows that break it; the failures, with up to 5 sample rows each."""
    failures = []
    for name in names:
        text = (SQL_DIR / f"{name}.sql").read_text()
        used = {k: v for k, v in params.items() if f"${k}" in text}
        cursor = con.execute(text, used) if used else con.execute(text)
        rows = cursor.fetchmany(5)
        if rows:
            columns = [d[0] for d in cursor.description]
            failures.append(f"{name}: " + "; ".join(str(dict(zip(columns, row))) for row in rows))
    return failures


def check_release(settings: Settings, run: RunContext, top_n: int, force: bool = False) -> dict[str, Any]:
    """Run every output check on the unchecked release; on success make it a publishable version.

    ``check_*`` files guard the contract and always run. ``quality_*`` files compare tonight with the version
    published now (coverage collapse, metric drop); ``force`` (the operator's force_publish) skips them.
    """
    target = unchecked_path(settings, run)
    if not target.exists():
        raise FileNotFoundError(f"no release to check for run {run.run_id}: {target}")
    snap = snapshot_dir(run.dir(settings))
    con = duckdb.connect()
    try:
        con.execute(f"attach {literal(target)} as release (read_only)")
        con.execute(f"create view snapshot_users as select user_id from read_parquet({literal(snap / 'users.parquet')})")
        con.execute(
            "create view snapshot_history as select u.user_id, i.item_id "
            f"from read_parquet({literal(snap / 'interactions.parquet')}) as h "
            f"join read_parquet({literal(snap / 'users.parquet')}) as u using (user_index) "
            f"join read_parquet({literal(snap / 'items.parquet')}) as i using (item_index)"
        )
        n_items = con.execute(f"select count(*) from read_parquet({literal(snap / 'items.parquet')})").fetchone()[0]
        checks = _check_names("check_")
        failures = _run_checks(con, checks, {"top_n": top_n, "n_items": n_items})
        previous = current(settings)
        previous_path = settings.versions_dir / previous["version"] if previous else None
        if force or previous_path is None or not previous_path.exists() or previous["run_id"] == run.run_id \
                or newer_published(settings, run):
            log.info("quality checks against the published version skipped (%s)",
                     "forced" if force else "a backfill of an earlier day" if previous else "no other published version")
        else:
            con.execute(f"attach {literal(previous_path)} as previous (read_only)")
            quality = _check_names("quality_")
            checks += quality
            failures += _run_checks(con, quality, {
                "run_id": run.run_id, "previous_run_id": previous["run_id"],
                "max_coverage_drop": settings.publish.max_coverage_drop, "max_metric_drop": settings.publish.max_metric_drop,
            })
    finally:
        con.close()
    if failures:
        target.unlink(missing_ok=True)
        message = f"run {run.run_id}: output checks failed, nothing published:\n  " + "\n  ".join(failures)
        log.error(message)
        raise OutputCheckError(message)
    target.replace(version_path(settings, run))
    log.info("all %d output checks passed", len(checks))
    return {"checks_passed": len(checks), "version": str(version_path(settings, run))}
