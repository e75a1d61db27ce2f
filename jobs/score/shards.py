"""Score every user of the run's snapshot: top-N unseen items from the champion, popularity for the rest.

Users are split into contiguous shards (one Airflow task each, ``score_shard.expand(shard=...)``); a shard
streams its users chunk by chunk through the shared top-k (``models.topk``) into its own Parquet part, so
memory is bounded by one chunk's scores whatever the number of users: ``score.memory_budget_mb`` sets the users
per chunk (``models.topk.chunk_users_for``), and seen items are masked from the CSR history, never densified.

The champion may be an artifact from an earlier run (the gate kept it). Its user and item indices then
refer to that run's snapshot, so tonight's users and histories are translated into its index space; users
it has never seen, and items it does not know, fall to the popularity fallback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
from tqdm import tqdm

from jobs.config import Settings
from jobs.faults import maybe_crash
from jobs.files import replacing
from jobs.records import Champion, RunContext
from jobs.train.candidates import load_artifact
from jobs.train.snapshot import load_snapshot, snapshot_ids
from models.popularity import Popularity
from models.topk import chunk_users_for, recommend, to_rows

log = logging.getLogger("recs.score")

FALLBACK_MODEL = "popularity"
SCORES_SCHEMA = pa.schema([("user_id", pa.string()), ("rank", pa.int32()), ("item_id", pa.string()),
                           ("score", pa.float32()), ("model", pa.string())])


def shard_users(n_users: int, shard: int, n_shards: int) -> np.ndarray:
    """The contiguous block of user indices that ``shard`` of ``n_shards`` scores."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    bounds = np.linspace(0, n_users, n_shards + 1).astype(np.int64)
    return np.arange(bounds[shard], bounds[shard + 1], dtype=np.int64)


def _translate(history: sp.csr_matrix, rows: np.ndarray, item_map: np.ndarray, n_items: int) -> sp.csr_matrix:
    """Rows of ``history`` with item columns mapped through ``item_map`` (-1 = unknown, dropped)."""
    sub = history[rows]
    cols = item_map[sub.indices]
    keep = cols >= 0
    row_of = np.repeat(np.arange(len(rows)), np.diff(sub.indptr))
    return sp.csr_matrix((sub.data[keep], (row_of[keep], cols[keep])), shape=(len(rows), n_items))


def _write_chunks(writer: pq.ParquetWriter, tables: Any, model_name: str) -> int:
    written = 0
    for table in tables:
        table = table.append_column("model", pa.repeat(pa.scalar(model_name, pa.string()), table.num_rows))
        writer.write_table(table)
        written += table.num_rows
    return written


def score_shard(settings: Settings, run: RunContext, champion: Champion, shard: int = 0, n_shards: int = 1,
                top_n: int | None = None) -> dict[str, Any]:
    """Write ``scores/part-<shard>.parquet`` (user_id, rank, item_id, score, model) for the shard's users."""
    top_n = top_n or settings.score.top_n
    files = settings.layout.run(run.key)
    data = load_snapshot(files).data
    users = shard_users(data.n_users, shard, n_shards)
    chunk = settings.score.chunk_users or chunk_users_for(data.n_items, settings.score.memory_budget_mb)
    model = load_artifact(settings, champion.run_key, champion.model)
    view = _champion_view(settings, run, champion, data, users)

    final = files.score_part(shard)
    with replacing(final) as tmp:
        with pq.ParquetWriter(tmp, SCORES_SCHEMA, compression="zstd") as writer:
            batches = recommend(model, view.rows, top_n, view.history, chunk, history_rows=view.history_rows)
            progress = tqdm(batches, total=-(-len(view.rows) // chunk), desc=f"score shard {shard}", disable=None)
            n_model = _write_chunks(writer, (to_rows(top, view.user_ids, view.item_ids) for top in progress), champion.model)
            cold = users[~view.known]
            n_cold = 0
            if len(cold):
                fallback = Popularity().fit(data)
                tops = recommend(fallback, cold, top_n, data.matrix, chunk)
                n_cold = _write_chunks(writer, (to_rows(top, data.user_ids, data.item_ids) for top in tops), FALLBACK_MODEL)
        maybe_crash("score:before_rename")
    log.info("shard %d/%d: %d users, %d rows from %s, %d cold users on the fallback", shard, n_shards, len(users),
             n_model, champion.model, len(cold))
    return {"shard": shard, "users": int(len(users)), "rows": int(n_model + n_cold), "cold_users": int(len(cold)),
            "path": str(final)}


@dataclass
class _ChampionView:
    """Tonight's users as the champion's artifact knows them: its rows, their histories in its item space."""

    rows: np.ndarray           # the artifact's user rows of the known users
    history: sp.csr_matrix     # histories to mask, in the artifact's item columns
    history_rows: np.ndarray | None  # the row of ``history`` of each entry of ``rows`` (None: the same index)
    user_ids: pa.Array         # the artifact's row -> user id
    item_ids: pa.Array         # the artifact's column -> item id
    known: np.ndarray          # per user of the shard: does the artifact know them?


def _champion_view(settings: Settings, run: RunContext, champion: Champion, data: Any, users: np.ndarray) -> _ChampionView:
    """Tonight's champion is indexed like tonight's snapshot; a kept one of an earlier run needs translating."""
    if champion.run_key == run.key:
        return _ChampionView(users, data.matrix, None, pa.array(data.user_ids.astype(str)),
                             pa.array(data.item_ids.astype(str)), np.ones(len(users), dtype=bool))
    model_files = settings.layout.run(champion.run_key)
    model_users = pd.Index(snapshot_ids(model_files, "users"))
    model_items = pd.Index(snapshot_ids(model_files, "items"))
    model_rows = model_users.get_indexer(data.user_ids[users])
    known = model_rows >= 0
    history = _translate(data.matrix, users[known], model_items.get_indexer(data.item_ids), len(model_items))
    # The translated history holds the known users in order.
    return _ChampionView(model_rows[known], history, np.arange(int(known.sum())),
                         pa.array(model_users.to_numpy().astype(str)), pa.array(model_items.to_numpy().astype(str)), known)
