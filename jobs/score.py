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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp
from tqdm import tqdm

from jobs.config import Settings
from jobs.faults import maybe_crash
from jobs.runs import RunContext, run_key
from jobs.snapshot import load_snapshot, snapshot_dir
from jobs.train import artifact_path
from models.base import Recommender
from models.popularity import Popularity
from models.topk import chunk_users_for, recommend, to_rows

log = logging.getLogger("recs.score")

FALLBACK_MODEL = "popularity"
#: How many popular items the popular_items table lists (at least top_n).
POPULAR_ITEMS = 100
SCORES_SCHEMA = pa.schema([("user_id", pa.string()), ("rank", pa.int32()), ("item_id", pa.string()),
                           ("score", pa.float32()), ("model", pa.string())])


def scores_dir(run_dir: Path) -> Path:
    return run_dir / "scores"


def shard_users(n_users: int, shard: int, n_shards: int) -> np.ndarray:
    """The contiguous block of user indices that ``shard`` of ``n_shards`` scores."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    bounds = np.linspace(0, n_users, n_shards + 1).astype(np.int64)
    return np.arange(bounds[shard], bounds[shard + 1], dtype=np.int64)


def _ids(run_dir: Path, name: str, column: str) -> pd.Index:
    return pd.Index(pq.read_table(snapshot_dir(run_dir) / f"{name}.parquet", columns=[column]).column(column).to_pylist())


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


def score_shard(settings: Settings, run: RunContext, champion: dict[str, str], shard: int = 0, n_shards: int = 1,
                top_n: int | None = None) -> dict[str, Any]:
    """Write ``scores/part-<shard>.parquet`` (user_id, rank, item_id, score, model) for the shard's users."""
    top_n = top_n or settings.score.top_n
    run_dir = run.dir(settings)
    snapshot = load_snapshot(run_dir)
    data = snapshot.data
    users = shard_users(data.n_users, shard, n_shards)
    chunk = settings.score.chunk_users or chunk_users_for(data.n_items, settings.score.memory_budget_mb)

    model_run_dir = settings.run_dir(run_key(champion["run_id"]))
    model = Recommender.load(artifact_path(model_run_dir, champion["model"]))
    if model_run_dir == run_dir:
        model_rows, history, history_rows = users, data.matrix, None
        model_user_ids, model_item_ids = pa.array(data.user_ids.astype(str)), pa.array(data.item_ids.astype(str))
        known = np.ones(len(users), dtype=bool)
    else:
        model_users, model_items = _ids(model_run_dir, "users", "user_id"), _ids(model_run_dir, "items", "item_id")
        model_rows = model_users.get_indexer(data.user_ids[users])
        known = model_rows >= 0
        item_map = model_items.get_indexer(data.item_ids)
        history = _translate(data.matrix, users[known], item_map, len(model_items))
        model_rows = model_rows[known]
        history_rows = np.arange(len(model_rows))  # the translated history holds the known users in order
        model_user_ids, model_item_ids = pa.array(model_users.to_numpy().astype(str)), pa.array(model_items.to_numpy().astype(str))

    out_dir = scores_dir(run_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / f"part-{shard:05d}.parquet"
    tmp = final.with_suffix(".parquet.tmp")
    with pq.ParquetWriter(tmp, SCORES_SCHEMA, compression="zstd") as writer:
        batches = recommend(model, model_rows, top_n, history, chunk, history_rows=history_rows)
        progress = tqdm(batches, total=-(-len(model_rows) // chunk), desc=f"score shard {shard}", disable=None)
        n_model = _write_chunks(writer, (to_rows(top, model_user_ids, model_item_ids) for top in progress), champion["model"])
        cold = users[~known]
        n_cold = 0
        if len(cold):
            fallback = Popularity().fit(data)
            tops = recommend(fallback, cold, top_n, data.matrix, chunk)
            n_cold = _write_chunks(writer, (to_rows(top, data.user_ids, data.item_ids) for top in tops), FALLBACK_MODEL)
    maybe_crash("score:before_rename")
    tmp.replace(final)
    log.info("shard %d/%d: %d users, %d rows from %s, %d cold users on the fallback", shard, n_shards, len(users),
             n_model, champion["model"], len(cold))
    return {"shard": shard, "users": int(len(users)), "rows": int(n_model + n_cold), "cold_users": int(len(cold)),
            "path": str(final)}


def write_popular_items(settings: Settings, run: RunContext) -> Path:
    """The run's popular_items (rank, item_id, score): the fallback list, also published for consumers."""
    run_dir = run.dir(settings)
    data = load_snapshot(run_dir).data
    model = Popularity().fit(data)
    n = min(max(POPULAR_ITEMS, settings.score.top_n), data.n_items)
    top = next(recommend(model, np.array([0]), n, None))
    table = pa.table({
        "rank": pa.array(np.arange(1, n + 1, dtype=np.int32)),
        "item_id": pa.array(data.item_ids[top.items[0]].astype(str)),
        "score": pa.array(top.scores[0].astype(np.float32)),
    })
    path = run_dir / "popular_items.parquet"
    pq.write_table(table, path.with_suffix(".tmp"))
    path.with_suffix(".tmp").replace(path)
    return path
