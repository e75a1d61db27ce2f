"""Build tonight's release aside and check it: a complete new serving database that nobody reads yet.

``build_release`` writes ``versions/recs-<run>.duckdb.unchecked`` from the run's files and the warehouse;
``check_release`` runs every ``sql/outputs/<table>/check_*.sql`` against it and only when all pass renames it
to ``versions/recs-<run>.duckdb``, the one name ``publish`` accepts. A failed check leaves the published
version untouched and fails the run, listing the offending rows.
Tonight's drift and run monitoring is measured while the release is built (``jobs.publish.monitoring``); a crossed
threshold fails the check only with ``[monitoring] block_publish``.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from jobs.config import Settings
from jobs.faults import maybe_crash
from jobs.files import sha256_file, write_text
from jobs.layout import OutputLayout
from jobs.publish import monitoring
from jobs.publish.list_metrics import create_relations, placements_frame, record_list_metrics
from jobs.records import RunContext
from jobs.score.rules import placement_items_frame
from jobs.sql import literal, q_identifier, q_literal, run_sql, sql_files

log = logging.getLogger("recs.release")

#: Published tables, in build order; each has sql/outputs/<table>/build.sql and its checks beside it.
TABLES = ("recommendations", "placement_recommendations", "popular_items", "similar_items", "runs", "model_metrics",
          "champions", "items", "run_monitoring", "quarantine_reasons", "run_steps")


class OutputCheckError(RuntimeError):
    """Tonight's outputs broke the contract; nothing was published."""


def current(settings: Settings) -> dict[str, Any] | None:
    """What is published now (run id and version file name), or None before the first publish."""
    pointer = settings.layout.current_pointer
    return json.loads(pointer.read_text()) if pointer.exists() else None


def newer_published(settings: Settings, run: RunContext) -> dict[str, Any] | None:
    """The published version when it is for a later day than ``run`` (which is then a backfill), else None."""
    now = current(settings)
    if now and now.get("run_date") and run.run_date and now["run_date"] > run.run_date.isoformat():
        return now
    return None


def build_release(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection, generated_at: datetime) -> dict[str, int]:
    """Write the run's tables into a new database file beside the published one; returns row counts."""
    files = settings.layout.run(run.key)
    target = settings.layout.unchecked_version(run.key)
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in (target, settings.layout.version(run.key), settings.layout.version_checksum(run.key)):
        stale.unlink(missing_ok=True)
    if not list(files.scores.glob("part-*.parquet")):
        raise RuntimeError(f"run {run.run_id}: no score shards in {files.scores}")
    similar = sorted(files.similar.glob("*.parquet"))
    params = {"run_id": run.run_id, "generated_at": generated_at}
    con.execute(f"attach {literal(target)} as release")
    try:
        run_sql(con, "outputs/recommendations/build", params, scores_glob=q_literal(files.score_parts_glob))
        if list(files.scores.glob("placements/*-part-*.parquet")):
            run_sql(con, "outputs/placement_recommendations/build", params,
                    placements_glob=q_literal(files.placement_parts_glob))
        else:
            run_sql(con, "outputs/placement_recommendations/build_empty")
        run_sql(con, "outputs/popular_items/build", {"run_id": run.run_id}, popular_path=q_literal(files.popular_items))
        if similar:
            run_sql(con, "outputs/similar_items/build", {"run_id": run.run_id},
                    similar_glob=q_literal(str(files.similar / "*.parquet")))
        else:
            run_sql(con, "outputs/similar_items/build_empty")
        run_sql(con, "outputs/runs/build", params)
        record_list_metrics(settings, run, con)  # into the warehouse's model_metrics, copied just below
        for table in ("model_metrics", "champions", "items"):
            run_sql(con, f"outputs/{table}/build")
        monitoring.build_tables(settings, run, con, generated_at)  # run_monitoring, quarantine_reasons, run_steps
        counts = {t: run_sql(con, "release/count_rows", table=q_identifier(t)).fetchone()[0] for t in TABLES}
        maybe_crash("release:before_detach")
        con.execute("checkpoint release")
    finally:
        con.execute("detach release")
    log.info("release built at %s: %s", target, counts)
    return counts


def record_checksum(layout: OutputLayout, key: str) -> str:
    """Record the sha256 of a checked version (``versions/recs-<run>.duckdb.sha256``)."""
    digest = sha256_file(layout.version(key))
    write_text(layout.version_checksum(key), digest + "\n")
    return digest


def _check_names(prefix: str = "check_") -> list[str]:
    return [name for table in TABLES for name in sql_files(f"outputs/{table}") if Path(name).name.startswith(prefix)]


def _run_checks(con: duckdb.DuckDBPyConnection, names: list[str], params: dict[str, Any]) -> list[str]:
    """Each check returns the rows that break it; the failures, with up to 5 sample rows each."""
    failures = []
    for name in names:
        cursor = run_sql(con, name, params)
        rows = cursor.fetchmany(5)
        if rows:
            columns = [d[0] for d in cursor.description]
            failures.append(f"{name}: " + "; ".join(str(dict(zip(columns, row))) for row in rows))
    return failures


#: What the contract checks read besides the release (``sql/release/``), in build order: views of the snapshot's
#: users, history, items and exclusions, and of every published list; then, built once because the checks on
#: every list row would otherwise each re-read and re-hash 15M rows by string id, the lists by integer keys and
#: one row per list.
CHECK_RELATIONS = ("snapshot_users", "snapshot_history", "snapshot_items", "snapshot_rules", "snapshot_user_exclusions",
                   "published_lists", "list_placements", "published_list_keys", "published_list_sizes")


def _attach_snapshot(con: duckdb.DuckDBPyConnection, settings: Settings, run: RunContext) -> None:
    """Tonight's placements and the items each may show, then the relations the contract checks compare the
    release with (``CHECK_RELATIONS``)."""
    files = settings.layout.run(run.key)
    con.register("placement_items", placement_items_frame(files, settings.placements, run.as_of))
    con.register("placements", placements_frame(settings))
    create_relations(con, settings, run, CHECK_RELATIONS)


def _quality_baseline(settings: Settings, run: RunContext, force: bool) -> tuple[dict[str, Any] | None, str]:
    """The published version tonight's quality is compared with, or None and why the comparison is skipped."""
    previous = current(settings)
    previous_path = settings.layout.versions / previous["version"] if previous else None
    if force:
        return None, "forced"
    if previous_path is None or not previous_path.exists() or previous["run_id"] == run.run_id:
        return None, "no other published version"
    if newer_published(settings, run):
        return None, "a backfill of an earlier day"
    return {**previous, "path": previous_path}, ""


def check_release(settings: Settings, run: RunContext, force: bool = False) -> dict[str, Any]:
    """Run every output check on the unchecked release; on success make it a publishable version.

    ``check_*`` files guard the contract and always run. ``quality_*`` files compare tonight with the version
    published now (coverage collapse, metric drop); ``force`` (the operator's force_publish) skips them.
    """
    target = settings.layout.unchecked_version(run.key)
    if not target.exists():
        raise FileNotFoundError(f"no release to check for run {run.run_id}: {target}")
    con = duckdb.connect()
    try:
        con.execute(f"attach {literal(target)} as release (read_only)")
        _attach_snapshot(con, settings, run)
        checks = _check_names("check_")
        failures = _run_checks(con, checks, {"as_of": run.as_of})
        baseline, skipped = _quality_baseline(settings, run, force)
        if baseline is None:
            log.info("quality checks against the published version skipped (%s)", skipped)
        else:
            con.execute(f"attach {literal(baseline['path'])} as previous (read_only)")
            quality = _check_names("quality_")
            checks += quality
            failures += _run_checks(con, quality, {
                "run_id": run.run_id, "previous_run_id": baseline["run_id"],
                "max_coverage_drop": settings.publish.max_coverage_drop, "max_metric_drop": settings.publish.max_metric_drop,
            })
        failures += monitoring.blocking_failures(settings, con, run, force)  # only with [monitoring] block_publish
    finally:
        con.close()
    if failures:
        target.unlink(missing_ok=True)
        message = f"run {run.run_id}: output checks failed, nothing published:\n  " + "\n  ".join(failures)
        log.error(message)
        raise OutputCheckError(message)
    version = settings.layout.version(run.key)
    target.replace(version)
    digest = record_checksum(settings.layout, run.key)
    log.info("all %d output checks passed; version %s (sha256 %s...)", len(checks), version.name, digest[:12])
    return {"checks_passed": len(checks), "version": str(version), "sha256": digest}
