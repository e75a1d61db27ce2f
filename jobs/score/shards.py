"""Score every user of the run's snapshot: top-N unseen items from the champion, popularity for the rest.

Users are split into contiguous shards (one Airflow task each, ``score_shard.expand(shard=...)``); a shard
streams its users chunk by chunk through the shared top-k (``models.topk``) into its own Parquet part, so
memory is bounded by one chunk's scores whatever the number of users: ``score.memory_budget_mb`` sets the users
per chunk (``models.topk.chunk_users_for``), and seen items are masked from the CSR history, never densified.

The champion is always fitted on tonight's snapshot (``fit_champion``, whichever configuration the gate chose),
so it knows every user and item of it; the popularity fallback is published for users who arrive later
(``popular_items``).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from jobs.config import Settings
from jobs.faults import maybe_crash
from jobs.files import replacing
from jobs.records import Champion, RunContext
from jobs.train.candidates import load_artifact
from jobs.train.snapshot import load_snapshot
from models.topk import chunk_users_for, recommend, to_rows

log = logging.getLogger("recs.score")

SCORES_SCHEMA = pa.schema([("user_id", pa.string()), ("rank", pa.int32()), ("item_id", pa.string()),
                           ("score", pa.float32()), ("model", pa.string())])


def shard_users(n_users: int, shard: int, n_shards: int) -> np.ndarray:
    """The contiguous block of user indices that ``shard`` of ``n_shards`` scores."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    bounds = np.linspace(0, n_users, n_shards + 1).astype(np.int64)
    return np.arange(bounds[shard], bounds[shard + 1], dtype=np.int64)


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
    if champion.run_key != run.key:
        raise ValueError(f"run {run.run_id} scores with its own champion artifact, not run {champion.run_id}'s")
    model = load_artifact(settings, champion.run_key, champion.model)
    user_ids, item_ids = pa.array(data.user_ids.astype(str)), pa.array(data.item_ids.astype(str))

    final = files.score_part(shard)
    with replacing(final) as tmp:
        with pq.ParquetWriter(tmp, SCORES_SCHEMA, compression="zstd") as writer:
            batches = recommend(model, users, top_n, data.matrix, chunk)
            progress = tqdm(batches, total=-(-len(users) // chunk), desc=f"score shard {shard}", disable=None)
            n_rows = _write_chunks(writer, (to_rows(top, user_ids, item_ids) for top in progress), champion.model)
        maybe_crash("score:before_rename")
    log.info("shard %d/%d: %d users, %d rows from %s", shard, n_shards, len(users), n_rows, champion.model)
    return {"shard": shard, "users": int(len(users)), "rows": int(n_rows), "path": str(final)}
