"""A human-readable report of a run (``outputs/reports/<run>.md``), read from the published database."""

from __future__ import annotations

from pathlib import Path

import duckdb

from jobs.config import Settings
from jobs.release import version_path
from jobs.runs import RunContext
from jobs.warehouse import literal


def _table(con: duckdb.DuckDBPyConnection, query: str, params: dict) -> str:
    cursor = con.execute(query, params)
    columns = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + " |")
    return "\n".join(lines)


def write_report(settings: Settings, run: RunContext) -> Path:
    con = duckdb.connect(str(version_path(settings, run)), read_only=True)
    params = {"run_id": run.run_id}
    try:
        sections = [
            f"# Run {run.run_id}",
            "## Run",
            _table(con, "select run_id, logical_date, as_of, status, rows_ingested, rows_quarantined, users, items, "
                        "champion_model from runs where run_id = $run_id", params),
            "## Champion decision",
            _table(con, "select champion_model, champion_run_id, decision, reason from champions where run_id = $run_id", params),
            "## Holdout metrics",
            # PIVOT takes no parameters: the run id goes in as a quoted literal.
            _table(con, "pivot (select model, metric || coalesce('@' || k, '') as metric, value from model_metrics "
                        f"where run_id = {literal(run.run_id)} and metric in "
                        "('precision','recall','ndcg','map','coverage','rmse','train_seconds')) "
                        "on metric using first(value) order by model", {}),
            "## Published tables",
            _table(con, "select 'recommendations' as table_name, count(*) as n_rows, count(distinct user_id) as n_keys from recommendations "
                        "union all select 'popular_items', count(*), count(distinct item_id) from popular_items "
                        "union all select 'similar_items', count(*), count(distinct item_id) from similar_items", {}),
            "## Recommendations by source",
            _table(con, "select model, count(distinct user_id) as users, count(*) as n_rows from recommendations group by model order by model", {}),
        ]
    finally:
        con.close()
    path = settings.reports_dir / f"{run.key}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join(sections) + "\n")
    return path
