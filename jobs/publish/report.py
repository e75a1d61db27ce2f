"""A human-readable report of a run (``outputs/reports/<run>.md``), read from the run's published version."""

from __future__ import annotations

from pathlib import Path

import duckdb

from jobs import warehouse
from jobs.config import Settings
from jobs.files import write_text
from jobs.records import RunContext
from jobs.score.rules import rules_connection
from jobs.sql import q_literal, run_sql

#: (heading, query under sql/report/) in the report's order.
SECTIONS = (
    ("Run", "report/run"),
    ("Champion decision", "report/champion"),
    ("Holdout metrics", "report/holdout_metrics"),
    ("Published tables", "report/published_tables"),
    ("Recommendations by source", "report/by_source"),
    ("Placements (rules, promotions, diversity)", "report/placements"),
    ("Monitoring (drift and run metrics against [monitoring] thresholds)", "report/monitoring"),
    ("Quarantine reasons (rows quarantined from the files this run ingested)", "report/quarantine_reasons"),
)


def markdown_table(cursor: duckdb.DuckDBPyConnection) -> str:
    columns = [d[0] for d in cursor.description]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in cursor.fetchall():
        lines.append("| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def _rule_counts(settings: Settings, run: RunContext) -> str:
    con = rules_connection(settings.layout.run(run.key))
    try:
        return markdown_table(run_sql(con, "rules/rule_counts", {"as_of": run.as_of}))
    finally:
        con.close()


def write_report(settings: Settings, run: RunContext) -> Path:
    """The run's report, from its published version, plus the landing files it could not ingest (the warehouse)."""
    con = duckdb.connect(str(settings.layout.version(run.key)), read_only=True)
    sections = [f"# Run {run.run_id}"]
    try:
        for heading, query in SECTIONS:
            cursor = run_sql(con, query, {"run_id": run.run_id}, run_id=q_literal(run.run_id))
            sections += [f"## {heading}", markdown_table(cursor)]
    finally:
        con.close()
    sections += ["## Business rules in force at the cut-off (ids the snapshot does not know are counted, not errors)",
                 _rule_counts(settings, run)]
    with warehouse.connect(settings, read_only=True) as con:
        set_aside = markdown_table(run_sql(con, "staging/set_aside_for_run", {"run_id": run.run_id}))
        skipped = markdown_table(run_sql(con, "report/skipped_candidates", {"run_id": run.run_id}))
    sections += ["## Candidates skipped tonight ([train] night_budget_minutes; estimates from models/cost.py)",
                 skipped if skipped.count("\n") > 1 else "None.",
                 "## Landing files not ingested (set aside or deferred; see the warehouse's set_aside_files)",
                 set_aside if set_aside.count("\n") > 1 else "None."]
    return write_text(settings.layout.report(run.key), "\n\n".join(sections) + "\n")
