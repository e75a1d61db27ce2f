"""Figures of the lists a run releases, per placement, into ``model_metrics`` (split ``published``).

Beside accuracy on the holdout (``split = 'holdout'``, per candidate), what a consumer sees: intra-list diversity
(1 - mean pairwise cosine of the list's items, on item vectors of the rating matrix: ``models.metrics``, the
same measure for every model and placement), novelty (mean self-information of the items recommended), catalogue
coverage, and what tonight's rules did (items the rules and the placement's filter removed, promoted rows).
"""

from __future__ import annotations

import logging
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from jobs.config import Settings
from jobs.records import RunContext
from jobs.score.rules import placement_frame, rules_connection
from jobs.sql import run_sql
from jobs.train.snapshot import load_snapshot
from models.metrics import intra_list_diversity, item_vectors, novelty

log = logging.getLogger("recs.release")


def _list_matrix(rows: pd.DataFrame, item_index: pd.Series, k: int) -> np.ndarray:
    """(lists x k) item indices of one placement's rows, -1 where a list is shorter."""
    users, position = np.unique(rows["user_id"].to_numpy(), return_inverse=True)
    out = np.full((len(users), max(k, 1)), -1, dtype=np.int64)
    ranks = rows["rank"].to_numpy(np.int64) - 1
    inside = ranks < out.shape[1]
    out[position[inside], ranks[inside]] = item_index.loc[rows["item_id"].to_numpy()[inside]].to_numpy()
    return out


def list_figures(settings: Settings, run: RunContext, lists: pd.DataFrame, model: str) -> pd.DataFrame:
    """The published figures of every placement tonight (metric, k, value per placement)."""
    files = settings.layout.run(run.key)
    data = load_snapshot(files).data
    vectors = item_vectors(data.matrix, seed=settings.train.seed)
    counts = np.diff(data.matrix.tocsc().indptr)
    item_index = pd.Series(np.arange(data.n_items), index=data.item_ids.astype(str))
    con = rules_connection(files)
    try:
        eligible = {p.name: len(placement_frame(con, p, run.as_of)) for p in settings.placements}
        ruled_out = int(run_sql(con, "rules/rule_counts", {"as_of": run.as_of}).df()["items_ruled_out"].iloc[0])
    finally:
        con.close()
    out: list[dict[str, Any]] = []
    for placement in settings.placements:
        k = placement.length(settings.score.top_n)
        rows = lists[lists["placement"] == placement.name]
        items = _list_matrix(rows, item_index, k)
        figures = {
            "ild": float(np.nanmean(intra_list_diversity(items, vectors))) if len(items) else float("nan"),
            "novelty": float(np.nanmean(novelty(items, counts, data.n_users))) if len(items) else float("nan"),
            "coverage": rows["item_id"].nunique() / max(data.n_items, 1),
            "eligible_items": float(eligible.get(placement.name, 0)),
            "removed_by_rules": float(ruled_out),
            "filtered_out": float(data.n_items - ruled_out - eligible.get(placement.name, 0)),
            "promoted_rows": float(rows["promoted"].sum()),
            "lists": float(len(items)),
        }
        out += [{"run_id": run.run_id, "model": model, "placement": placement.name, "metric": name, "k": k,
                 "value": value} for name, value in figures.items()]
    return pd.DataFrame(out)


def record_list_metrics(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Compute tonight's published-list figures from the release being built (attached as ``release``) and
    store them in the warehouse's model_metrics (replacing an earlier attempt's)."""
    run_sql(con, "release/published_lists")
    lists = run_sql(con, "publish/list_rows").df()
    model = run_sql(con, "publish/list_model").fetchone()[0]
    con.execute("drop view published_lists")
    figures = list_figures(settings, run, lists, model)
    run_sql(con, "publish/clear_list_metrics", {"run_id": run.run_id})
    con.register("list_metrics", figures)
    try:
        run_sql(con, "publish/insert_list_metrics")
    finally:
        con.unregister("list_metrics")
    log.info("published lists: %s", figures.pivot_table(index="placement", columns="metric", values="value").round(4).to_dict("index"))
    return figures
