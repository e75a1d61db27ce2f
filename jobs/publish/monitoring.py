"""Drift and run monitoring, measured every night while the release is built (``build_release``).

``measure`` runs ``sql/monitoring/*.sql`` over the warehouse and the release being built (attached as
``release``; the previous published version, when kept, as ``previous``) and records one row per metric into
the warehouse's ``run_monitoring`` (a rerun replaces the run's rows), which the release publishes whole:

- ``psi_rating``: population stability index of the rating values of tonight's ratings against the previous
  interval's. Tonight's ratings are the rating rows (re-ratings included) with ``rated_at`` in
  [the previous published run's as_of, this run's as_of); the previous interval is the one before it, between
  the as_of of the two published runs before this one (``sql/monitoring/interval.sql``);
- ``new_ratings``, ``new_user_share``, ``new_item_share``: how many ratings tonight's interval holds, and the
  share of them by users (of items) with no rating before the interval;
- ``churn``: over the users in both the previous published version's recommendations and tonight's, the mean
  share of a user's items tonight that were not in their previous list;
- ``gini``, ``coverage``: how unequally tonight's lists use the snapshot's catalogue, and how much of it;
- ``fallback_users``, ``fallback_share``: users served by the popularity fallback instead of the champion.

Each metric with a threshold (``[monitoring]`` in recs.toml) is marked breached when it crosses it, and a
WARNING names metric, value and threshold; a night without new ratings is a warning too. Nothing here blocks
publishing unless ``block_publish`` is set: then ``check_release`` fails the run (``blocking_failures``).

``load_run_steps`` loads the step records the steps leave in ``runs/<run>/steps/`` (``jobs.steps._step``) into
the warehouse's ``run_steps``, whose whole history the release publishes too.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import duckdb

from jobs.config import Settings
from jobs.records import RunContext, run_key
from jobs.sql import literal, q_literal, run_sql

log = logging.getLogger("recs.monitoring")

#: The metrics in the order they are measured, each by one file of sql/monitoring/ (``churn_unmeasured`` stands
#: in for ``churn`` when there is no previous version to compare with, ``new_ratings_first`` for
#: ``new_ratings`` on a first publish).
METRIC_FILES = ("psi", "new_ratings", "churn", "catalogue", "fallback")
#: Published tables this module fills in the release (each has sql/outputs/<table>/build.sql).
TABLES = ("run_monitoring", "quarantine_reasons", "run_steps")
BLOCK_ON_BREACH = "outputs/run_monitoring/block_on_breach"


def _thresholds(settings: Settings) -> dict[str, float]:
    m = settings.monitoring
    return {"max_psi": m.max_psi, "max_new_user_share": m.max_new_user_share, "max_new_item_share": m.max_new_item_share,
            "max_churn": m.max_churn, "max_gini": m.max_gini, "min_coverage": m.min_coverage,
            "max_fallback_share": m.max_fallback_share}


def _previous_version(settings: Settings, previous_run_id: str | None) -> tuple[Any, str]:
    """The previous published run's kept version file, or None and why churn cannot be measured."""
    if previous_run_id is None:
        return None, "first publish: no previous version to compare with"
    path = settings.layout.version(run_key(previous_run_id))
    if not path.exists():
        return None, f"the version of the previous published run {previous_run_id} is no longer kept"
    return path, ""


def measure(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection, measured_at: datetime) -> list[dict[str, Any]]:
    """Tonight's metrics into the warehouse's run_monitoring (the release is attached to ``con`` as ``release``);
    returns the rows recorded, after logging a warning for each crossed threshold."""
    files = settings.layout.run(run.key)
    params = {"run_id": run.run_id, "as_of": run.as_of, "measured_at": measured_at, **_thresholds(settings)}
    run_sql(con, "monitoring/interval", params)
    previous_run_id = run_sql(con, "monitoring/previous_run").fetchone()[0]
    run_sql(con, "monitoring/interval_ratings")
    run_sql(con, "monitoring/measured")
    previous, why_not = _previous_version(settings, previous_run_id)
    for name in METRIC_FILES:
        if name == "new_ratings" and previous_run_id is None:
            run_sql(con, "monitoring/new_ratings_first", params)
        elif name == "churn" and previous is None:
            run_sql(con, "monitoring/churn_unmeasured", {"note": why_not})
        elif name == "churn":
            con.execute(f"attach {literal(previous)} as previous (read_only)")
            try:
                run_sql(con, "monitoring/churn", {"previous_run_id": previous_run_id})
            finally:
                con.execute("detach previous")
        else:
            run_sql(con, f"monitoring/{name}", params, items_path=q_literal(files.snapshot_file("items")))
    run_sql(con, "monitoring/clear_run", params)
    run_sql(con, "monitoring/record", params)
    cursor = run_sql(con, "monitoring/run_rows", params)
    columns = [d[0] for d in cursor.description]
    rows = [dict(zip(columns, row)) for row in cursor.fetchall()]
    _log(run, rows)
    return rows


def _log(run: RunContext, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        if row["metric"] == "new_ratings" and row["value"] == 0:
            log.warning("monitoring, run %s: %s", run.run_id, row["note"])
        if row["breached"]:
            sign = ">" if row["direction"] == "max" else "<"
            log.warning("monitoring, run %s: %s = %.4f %s %s threshold %s (%s)", run.run_id, row["metric"], row["value"],
                        sign, row["direction"], row["threshold"], row["note"])
    shown = ", ".join(f"{r['metric']}={'n/a' if r['value'] is None else round(r['value'], 4)}" for r in rows)
    log.info("monitoring, run %s: %s", run.run_id, shown)


def load_run_steps(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection) -> int:
    """The step records of every kept run folder into the warehouse's run_steps: tonight's replace the run's
    rows (a restarted run's earlier attempts are gone); an earlier run's replace their own step's (its
    ``build_release``, ``publish`` and ``write_report`` are recorded after its release was built, so they reach
    the published table with the next run's release). Returns the records loaded."""
    run_sql(con, "monitoring/steps_clear_run", {"run_id": run.run_id})
    if not list(settings.layout.runs.glob("*/steps/*.json")):
        return 0
    run_sql(con, "monitoring/step_records", steps_glob=q_literal(str(settings.layout.runs / "*" / "steps" / "*.json")))
    run_sql(con, "monitoring/steps_clear_loaded")
    run_sql(con, "monitoring/steps_insert")
    return run_sql(con, "monitoring/step_records_count").fetchone()[0]


def build_tables(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection, measured_at: datetime) -> None:
    """Record tonight's step timings and metrics in the warehouse, then publish the three tables' whole history
    into the release (attached to ``con`` as ``release``, its other tables already built)."""
    load_run_steps(settings, run, con)
    measure(settings, run, con, measured_at)
    for table in TABLES:
        run_sql(con, f"outputs/{table}/build")


def blocking_failures(settings: Settings, con: duckdb.DuckDBPyConnection, run: RunContext, force: bool) -> list[str]:
    """With ``[monitoring] block_publish``, tonight's crossed thresholds as failures that stop the publish
    (the release attached to ``con`` as ``release``); none without it, or when the operator forces the run."""
    if not settings.monitoring.block_publish or force:
        return []
    cursor = run_sql(con, BLOCK_ON_BREACH, {"run_id": run.run_id})
    breaches = [row[-1] for row in cursor.fetchall()]
    return [f"{BLOCK_ON_BREACH}: {breach}" for breach in breaches]
