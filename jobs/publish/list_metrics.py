"""Figures of the lists a run releases, per placement, into ``model_metrics`` (split ``published``).

Beside accuracy on the holdout (``split = 'holdout'``, per candidate), what a consumer sees: intra-list diversity
(1 - mean pairwise cosine of the list's items, on item vectors of the rating matrix: ``models.metrics``, the
same measure for every model and placement, and the embedding the candidates' holdout ild used when they were
evaluated tonight), novelty (mean self-information of the items recommended), catalogue
coverage, and what tonight's rules did (items the rules and the placement's filter removed, promoted rows).

The lists are read as snapshot indexes (``sql/release/published_list_keys.sql``), never as string ids: at the
20M-ratings scale, 15M rows of ids in pandas took 5 GB and most of the release's time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import scipy.sparse as sp

from jobs.config import Settings
from jobs.layout import RunFiles
from jobs.records import RunContext
from jobs.score.rules import placement_frame, rules_connection
from jobs.sql import q_literal, run_sql
from jobs.train.candidates import saved_item_vectors
from models.metrics import intra_list_diversity, item_vectors, novelty

log = logging.getLogger("recs.release")

#: The relations of ``sql/release/`` the figures read, in build order, and how to drop them after.
FIGURE_RELATIONS = ("snapshot_users", "snapshot_items", "published_lists", "list_placements", "published_list_keys")
_DROPS = (("table", "published_list_keys"), ("table", "list_placements"), ("view", "published_lists"),
          ("view", "snapshot_items"), ("view", "snapshot_users"))


def placements_frame(settings: Settings) -> pd.DataFrame:
    """Tonight's placements as the lists are held to them: (placement, top_n, promoted_slots)."""
    top_n = settings.score.top_n
    rows = [(p.name, p.length(top_n), min(p.promoted_slots, p.length(top_n))) for p in settings.placements]
    return pd.DataFrame(rows, columns=["placement", "top_n", "promoted_slots"])


def create_relations(con: duckdb.DuckDBPyConnection, settings: Settings, run: RunContext,
                     relations: tuple[str, ...]) -> None:
    """Create ``relations`` (statements of ``sql/release/``) on ``con``, the release attached as ``release`` and
    the frame ``placements`` registered."""
    files = settings.layout.run(run.key)
    paths = {f"{name}_path": q_literal(files.snapshot_file(name)) for name in ("users", "items", "interactions", "exclusions")}
    for relation in relations:
        run_sql(con, f"release/{relation}", **paths)


@dataclass(frozen=True)
class ListRows:
    """Every released row of the snapshot's users and items, as arrays (one entry per row)."""

    placement_keys: dict[str, int]  # placement name -> the key in ``placement``
    placement: np.ndarray
    user: np.ndarray  # the snapshot's user index
    item: np.ndarray  # the snapshot's item index
    rank: np.ndarray
    promoted: np.ndarray

    def of(self, name: str) -> ListRows:
        """The rows of one placement (none when it has no key: no list and not configured)."""
        chosen = self.placement == self.placement_keys.get(name, -1)
        return ListRows(self.placement_keys, *(column[chosen] for column in
                                               (self.placement, self.user, self.item, self.rank, self.promoted)))


def list_rows(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection) -> ListRows:
    """Every row of the release being built (attached to ``con`` as ``release``) by snapshot indexes. Rows whose
    user or item the snapshot does not know (no scoring of this snapshot writes one) are left out of the
    figures, with a warning; the output checks judge them."""
    con.register("placements", placements_frame(settings))
    try:
        create_relations(con, settings, run, FIGURE_RELATIONS)
        keys = dict(run_sql(con, "release/list_placement_keys").fetchall())
        columns = run_sql(con, "release/list_rows").fetchnumpy()
    finally:
        for kind, name in _DROPS:
            con.execute(f"drop {kind} if exists {name}")
        con.unregister("placements")
    known = (columns["user_index"] >= 0) & (columns["item_index"] >= 0)
    if not known.all():
        log.warning("%d released rows name a user or an item the snapshot does not know: left out of the figures",
                    int((~known).sum()))
        columns = {name: values[known] for name, values in columns.items()}
    return ListRows(keys, *(np.asarray(columns[name]) for name in
                            ("placement_key", "user_index", "item_index", "rank", "promoted")))


def snapshot_matrix(files: RunFiles) -> sp.csr_matrix:
    """The snapshot's users x items matrix with ones for ratings, the structure ``load_snapshot`` builds: the
    item vectors binarise it anyway, and two of the four columns of the 20M rows are read in a fraction of the
    time and memory. The interactions file is in CSR order (user, then item), so each user's rows start where
    a binary search finds the user's index."""
    table = pq.read_table(files.snapshot_file("interactions"), columns=["user_index", "item_index"])
    n_users = pq.read_metadata(files.snapshot_file("users")).num_rows
    n_items = pq.read_metadata(files.snapshot_file("items")).num_rows
    indptr = np.searchsorted(table.column("user_index").to_numpy(), np.arange(n_users + 1)).astype(np.int64)
    items = table.column("item_index").to_numpy().astype(np.int32)
    return sp.csr_matrix((np.ones(len(items), dtype=np.float32), items, indptr), shape=(n_users, n_items))


def slot_matrix(rows: ListRows, n_users: int, k: int) -> np.ndarray:
    """(lists x k) item indices of one placement's rows, -1 where a list is shorter; one row per user with a
    list, in user order. A rank outside 1..k has no slot; of two rows with one rank, one keeps it."""
    slots = np.full((n_users, max(k, 1)), -1, dtype=np.int32)
    inside = (rows.rank >= 1) & (rows.rank <= slots.shape[1])
    slots[rows.user[inside], rows.rank[inside] - 1] = rows.item[inside]
    return slots[np.bincount(rows.user, minlength=n_users) > 0]


def list_figures(settings: Settings, run: RunContext, rows: ListRows, model: str) -> pd.DataFrame:
    """The published figures of every placement tonight (metric, k, value per placement)."""
    files = settings.layout.run(run.key)
    n_users = pq.read_metadata(files.snapshot_file("users")).num_rows
    n_items = pq.read_metadata(files.snapshot_file("items")).num_rows
    # The embedding tonight's candidates were judged with (the holdout's training ratings): the published ild is
    # then on the holdout's scale, and the night pays for one SVD instead of two (at 100M ratings, 50 s each).
    # A night that evaluated no candidate embeds the whole snapshot.
    vectors = saved_item_vectors(files, n_items)
    if vectors is None:
        matrix = snapshot_matrix(files)
        vectors, rated_items = item_vectors(matrix, seed=settings.train.seed), matrix.indices
    else:
        rated_items = pq.read_table(files.snapshot_file("interactions"), columns=["item_index"]).column(0).to_numpy()
    counts = np.bincount(rated_items, minlength=n_items)  # users per item
    con = rules_connection(files)
    try:
        eligible = {p.name: len(placement_frame(con, p, run.as_of)) for p in settings.placements}
        ruled_out = int(run_sql(con, "rules/rule_counts", {"as_of": run.as_of}).df()["items_ruled_out"].iloc[0])
    finally:
        con.close()
    out: list[dict[str, Any]] = []
    for placement in settings.placements:
        k = placement.length(settings.score.top_n)
        placed = rows.of(placement.name)
        slots = slot_matrix(placed, n_users, k)
        figures = {
            "ild": float(np.nanmean(intra_list_diversity(slots, vectors))) if len(slots) else float("nan"),
            "novelty": float(np.nanmean(novelty(slots, counts, n_users))) if len(slots) else float("nan"),
            "coverage": np.count_nonzero(np.bincount(placed.item, minlength=n_items)) / max(n_items, 1),
            "eligible_items": float(eligible.get(placement.name, 0)),
            "removed_by_rules": float(ruled_out),
            "filtered_out": float(n_items - ruled_out - eligible.get(placement.name, 0)),
            "promoted_rows": float(placed.promoted.sum()),
            "lists": float(len(slots)),
        }
        out += [{"run_id": run.run_id, "model": model, "placement": placement.name, "metric": name, "k": k,
                 "value": value} for name, value in figures.items()]
    return pd.DataFrame(out)


def record_list_metrics(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Compute tonight's published-list figures from the release being built (attached as ``release``) and
    store them in the warehouse's model_metrics (replacing an earlier attempt's)."""
    rows = list_rows(settings, run, con)
    model = run_sql(con, "publish/list_model").fetchone()[0]
    figures = list_figures(settings, run, rows, model)
    run_sql(con, "publish/clear_list_metrics", {"run_id": run.run_id})
    con.register("list_metrics", figures)
    try:
        run_sql(con, "publish/insert_list_metrics")
    finally:
        con.unregister("list_metrics")
    log.info("published lists: %s", figures.pivot_table(index="placement", columns="metric", values="value").round(4).to_dict("index"))
    return figures
