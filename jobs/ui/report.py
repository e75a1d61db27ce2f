"""The run report with plots (``outputs/reports/<run>.html``), beside the markdown one (``jobs.publish.report``).

The same tables (``jobs.publish.report.SECTIONS`` on the run's published version, the business rules in force,
the landing files not ingested), then the plots of every night up to that run, as the Recommendations view draws
them. Self-contained: inline CSS and SVG, no script, no link to anything, so it opens from disk with no network.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from jobs import warehouse
from jobs.config import Settings
from jobs.files import write_text
from jobs.records import RunContext
from jobs.score.rules import rules_connection
from jobs.serving import open_published
from jobs.sql import q_literal, run_sql
from jobs.ui import html
from jobs.ui.data import Table, read_history


def _table(cursor) -> Table:
    return Table([d[0] for d in cursor.description], cursor.fetchall())


def report_body(settings: Settings, run: RunContext) -> list[str]:
    """The report's sections, from the run's own published version (``versions/recs-<run>.duckdb``)."""
    from jobs.publish.report import SECTIONS

    body = [f"<h1>Run {escape(run.run_id)}</h1>"]
    con = open_published(settings.layout.version(run.key))
    try:
        for heading, query in SECTIONS:
            cursor = run_sql(con, query, {"run_id": run.run_id}, run_id=q_literal(run.run_id))
            body.append(html.section(heading, html.table(_table(cursor))))
        history = read_history(con, run.run_id)
    finally:
        con.close()
    rules = rules_connection(settings.layout.run(run.key))
    try:
        counts = _table(run_sql(rules, "rules/rule_counts", {"as_of": run.as_of}))
    finally:
        rules.close()
    body.append(html.section("Business rules in force at the cut-off", html.table(counts)))
    with warehouse.connect(settings, read_only=True) as con:
        set_aside = _table(run_sql(con, "staging/set_aside_for_run", {"run_id": run.run_id}))
    body.append(html.section("Landing files not ingested",
                             html.table(set_aside) if set_aside.rows else "<p>None.</p>"))
    body.append(f"<h1>The nights up to run {escape(run.run_id)}</h1>")
    return body + html.history_sections(history)


def write_html_report(settings: Settings, run: RunContext) -> Path:
    page = html.document(f"Run {run.run_id}", report_body(settings, run))
    return write_text(settings.layout.report_html(run.key), page)
