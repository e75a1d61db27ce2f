"""HTML of the Recommendations view and of the HTML run report: sections of tables and inline SVG plots.

Pure functions from ``jobs.ui.data`` records to strings; every value is escaped. The same sections make the page
the Airflow plugin serves and the self-contained report written beside the markdown one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from jobs.ui import svg
from jobs.ui.data import History, Table, UserLookup

NO_DATA = '<p class="muted">No data yet.</p>'
#: The quality metrics plotted across runs: (metric in model_metrics, title).
QUALITY = (("ndcg", "nDCG@10 (holdout)"), ("recall", "recall@10 (holdout)"), ("coverage", "coverage@10 (holdout)"))


def cell(value: Any) -> str:
    if value is None:
        return '<span class="muted">–</span>'
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.0f}"
    return escape(str(value))


def table(data: Table | None, columns: Sequence[str] | None = None, limit: int | None = None,
          row_class: Any = None) -> str:
    """An HTML table of ``data`` (all its columns, or ``columns``); ``row_class(row_dict)`` may mark rows."""
    if data is None:
        return NO_DATA
    if not data.rows:
        return '<p class="muted">None.</p>'
    columns = list(columns or data.columns)
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in data.dicts()[:limit]:
        cls = row_class(row) if row_class else None
        cells = "".join(f"<td>{cell(row.get(c))}</td>" for c in columns)
        body.append(f'<tr class="{cls}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def section(title: str, *parts: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in title.lower()).strip("-")
    return f'<section id="{slug}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def plots(*figures: str) -> str:
    return f'<div class="plots">{"".join(figures)}</div>'


def _by_run(data: Table, key: str, value: str, run_ids: Sequence[str]) -> dict[str, list[float | None]]:
    """``{key value: [value per run, in run order]}`` from long rows."""
    cells: dict[str, dict[str, float]] = defaultdict(dict)
    for row in data.dicts():
        if row[value] is not None:
            cells[row[key]][row["run_id"]] = float(row[value])
    return {name: [per_run.get(r) for r in run_ids] for name, per_run in sorted(cells.items())}


def quality_section(history: History) -> str:
    if history.metrics is None or not history.metrics.rows:
        return section("Model quality across runs", NO_DATA)
    figures = []
    for metric, title in QUALITY:
        rows = Table(history.metrics.columns, [r for r in history.metrics.rows if r[2] == metric])
        figures.append(svg.line_plot(title, history.labels, _by_run(rows, "model", "value", history.run_ids)))
    return section("Model quality across runs", plots(*figures))


def champions_section(history: History) -> str:
    columns = ["run_id", "decided_at", "champion_model", "decision", "challenger_model", "reason"]
    return section("Champion decisions", table(history.champions, columns))


def ingest_section(history: History) -> str:
    runs = history.runs.dicts()
    if not runs:
        return section("Rows ingested and quarantined", NO_DATA)
    figure = svg.bar_plot("rows per night", history.labels,
                          {"ingested": [r["rows_ingested"] or 0 for r in runs],
                           "quarantined": [r["rows_quarantined"] or 0 for r in runs]}, stacked=False)
    parts = [plots(figure)]
    if history.quarantine is None:
        parts.append("<h3>Top quarantine reasons</h3>" + NO_DATA)
    else:
        totals: dict[tuple[str, str], int] = defaultdict(int)
        latest = [r for r in history.quarantine.dicts() if r["run_id"] == history.run_id]
        for row in history.quarantine.dicts():
            totals[(row["reason"], row["column_name"])] += int(row["n_rows"] or 0)
        top = Table(["reason", "column_name", "n_rows"],
                    sorted(((r, c, n) for (r, c), n in totals.items()), key=lambda t: -t[2])[:10])
        parts += [f"<h3>Top quarantine reasons, run {escape(str(history.run_id))}</h3>",
                  table(Table(history.quarantine.columns, [tuple(r.values()) for r in latest]), limit=10),
                  "<h3>Top quarantine reasons, all nights shown</h3>", table(top)]
    return section("Rows ingested and quarantined", *parts)


def steps_section(history: History) -> str:
    if history.steps is None or not history.steps.rows:
        return section("Step durations", NO_DATA)
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in history.steps.dicts():  # a mapped step's instances (shards, models) summed
        totals[row["step"]][row["run_id"]] += float(row["seconds"] or 0)
    order = list(dict.fromkeys(r[1] for r in history.steps.rows))
    figure = svg.bar_plot("seconds per step (task time, summed over shards and models)", history.labels,
                          {step: [totals[step].get(r, 0.0) for r in history.run_ids] for step in order})
    latest = history.steps.where_run({history.run_id})
    return section("Step durations", plots(figure), f"<h3>Run {escape(str(history.run_id))}</h3>",
                   table(latest, ["step", "label", "started_at", "finished_at", "seconds"]))


def _breached(row: dict[str, Any]) -> str | None:
    return "breach" if row.get("breached") else None


def drift_section(history: History) -> str:
    if history.monitoring is None or not history.monitoring.rows:
        return section("Drift and health", NO_DATA)
    figures = []
    rows = history.monitoring.dicts()
    for metric in sorted({r["metric"] for r in rows}):
        of_metric = {r["run_id"]: r for r in rows if r["metric"] == metric}
        values = [of_metric[r]["value"] if r in of_metric else None for r in history.run_ids]
        marks = [bool(of_metric[r]["breached"]) if r in of_metric else False for r in history.run_ids]
        thresholds = [of_metric[r]["threshold"] for r in history.run_ids if r in of_metric]
        threshold = thresholds[-1] if thresholds and thresholds[-1] is not None else None
        figures.append(svg.line_plot(metric, history.labels, {metric: values}, threshold=threshold,
                                     marked={metric: marks}))
    latest = history.monitoring.where_run({history.run_id})
    n_breached = sum(1 for r in latest.dicts() if r["breached"])
    summary = (f'<p class="bad">{n_breached} threshold(s) breached in run {escape(str(history.run_id))}.</p>'
               if n_breached else f'<p>No threshold breached in run {escape(str(history.run_id))}.</p>')
    return section("Drift and health", plots(*figures), summary,
                   table(latest, ["metric", "value", "threshold", "direction", "breached", "note"],
                         row_class=_breached))


def history_sections(history: History) -> list[str]:
    return [quality_section(history), champions_section(history), ingest_section(history), steps_section(history),
            drift_section(history)]


def user_form(user_id: str | None, placement: str | None) -> str:
    return ('<form method="get"><label>User id <input name="user" value="' + escape(user_id or "", quote=True)
            + '" required></label> <label>placement <input name="placement" placeholder="default" value="'
            + escape(placement or "", quote=True) + '"></label> <button type="submit">Look up</button></form>')


def user_section(found: UserLookup) -> str:
    parts = []
    if found.recommendations is not None and found.recommendations.rows:
        recs = Table(found.recommendations.columns + ["because_you_rated", "similarity"], [
            (*row, found.explanations.get(row[1], {}).get("title") or found.explanations.get(row[1], {}).get(
                "history_item_id"), found.explanations.get(row[1], {}).get("score"))
            for row in found.recommendations.rows])
        parts += [f"<p>Published by run {escape(str(found.run_id))}, champion {escape(str(found.model))}.</p>",
                  '<h3>Recommendations</h3>',
                  table(recs, ["rank", "item_id", "title", "genres", "score", "because_you_rated", "similarity"])]
    parts += [f'<p class="muted">{escape(note)}</p>' for note in found.notes]
    if found.ratings is not None:
        parts += ["<h3>Most recent ratings</h3>", table(found.ratings)]
    return section(f"User {found.user_id}", *parts)


def document(title: str, body: Iterable[str]) -> str:
    """A whole HTML page: inline CSS, no script, no external resource."""
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
            "content=\"width=device-width, initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{svg.STYLE}</style></head><body>{''.join(body)}</body></html>")
