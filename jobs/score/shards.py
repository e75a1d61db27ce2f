"""Score every user of the run's snapshot: every placement's lists from the champion, popularity for the rest.

Users are split into contiguous shards (one Airflow task each, ``score_shard.expand(shard=...)``); a shard
streams its users chunk by chunk through the shared top-k (``models.topk``) into its own Parquet part, so
memory is bounded by one chunk's scores whatever the number of users: ``score.memory_budget_mb`` sets the users
per chunk (``models.topk.chunk_users_for``), and seen items are masked from the CSR history, never densified.
Each chunk is scored once and fills every placement (``jobs.score.placements``) under tonight's business rules
(``jobs.score.rules``): exclusions, availability, filters and promoted slots are applied before the top-k.

The champion is always fitted on tonight's snapshot (``fit_champion``, whichever configuration the gate chose),
so it knows every user and item of it; the popularity fallback is published for users who arrive later
(``popular_items``).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tqdm import tqdm

from jobs.config import DEFAULT_PLACEMENT, Settings
from jobs.faults import maybe_crash
from jobs.files import replacing
from jobs.records import Champion, RunContext
from jobs.score.placements import ChunkScores, Lists, PlacementPlan
from jobs.score.rules import load_rules, summary
from jobs.score.similar import similarity_model
from jobs.train.candidates import load_artifact
from jobs.train.snapshot import load_snapshot
from models.base import Recommender
from models.topk import DEFAULT_MEMORY_BUDGET_MB, TopK, chunk_users_for, to_rows

log = logging.getLogger("recs.score")

SCORES_SCHEMA = pa.schema([("user_id", pa.string()), ("rank", pa.int32()), ("item_id", pa.string()),
                           ("score", pa.float32()), ("promoted", pa.bool_()), ("model", pa.string())])
PLACEMENT_SCHEMA = pa.schema([("placement", pa.string()), *SCORES_SCHEMA])
#: Dictionaries for the string columns only (a dictionary of float scores costs time and saves nothing) and the
#: scores' bytes split by significance: about 40 % faster to write and a third smaller than the defaults.
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd", "use_dictionary": ["placement", "user_id", "item_id", "model"],
                                   "use_byte_stream_split": ["score"]}


def shard_users(n_users: int, shard: int, n_shards: int) -> np.ndarray:
    """The contiguous block of user indices that ``shard`` of ``n_shards`` scores."""
    if not 0 <= shard < n_shards:
        raise ValueError(f"shard {shard} is not in 0..{n_shards - 1}")
    bounds = np.linspace(0, n_users, n_shards + 1).astype(np.int64)
    return np.arange(bounds[shard], bounds[shard + 1], dtype=np.int64)


def _rows(lists: Lists, users: np.ndarray, user_ids: pa.Array, item_ids: pa.Array, model: str,
          placement: str | None) -> pa.Table:
    """One chunk's lists of one placement in the long format of the score files."""
    table = to_rows(TopK(users=users, items=lists.items, scores=lists.scores), user_ids, item_ids)
    table = table.append_column("promoted", pa.array(lists.promoted[lists.items >= 0], pa.bool_()))
    table = table.append_column("model", pa.repeat(pa.scalar(model, pa.string()), table.num_rows))
    if placement is not None:
        table = table.add_column(0, "placement", pa.repeat(pa.scalar(placement, pa.string()), table.num_rows))
    return table


def _similarity(settings: Settings, model: Recommender, data: Any, plans_need: bool) -> Any:
    """The item similarity diversified placements re-rank with: the champion's, else content's, else None."""
    if not plans_need:
        return None
    from models.diversity import ItemSimilarity

    if model.supports_similar_items:
        return ItemSimilarity.from_model(model)
    content = similarity_model("content_tfidf", data, settings)
    if content is not None:
        log.info("champion %s has no item similarity: diversity re-ranks with content similarity", model.name)
        return ItemSimilarity.from_model(content)
    log.warning("diversity skipped tonight: champion %s has no item similarity, nor content similarity", model.name)
    return None


def score_shard(settings: Settings, run: RunContext, champion: Champion, shard: int = 0, n_shards: int = 1,
                top_n: int | None = None) -> dict[str, Any]:
    """Write the shard's lists of every placement tonight: ``scores/part-<shard>.parquet`` for the default one,
    ``scores/placements/<name>-part-<shard>.parquet`` for the others (user_id, rank, item_id, score, promoted,
    model; the named ones with their placement)."""
    top_n = top_n or settings.score.top_n
    files = settings.layout.run(run.key)
    data = load_snapshot(files).data
    users = shard_users(data.n_users, shard, n_shards)
    if champion.run_key != run.key:
        raise ValueError(f"run {run.run_id} scores with its own champion artifact, not run {champion.run_id}'s")
    model = load_artifact(settings, champion.run_key, champion.model)
    rules = load_rules(files, settings.placements, run.as_of, data.matrix.shape)
    factors = model.dot_factors() if callable(getattr(model, "dot_factors", None)) else None
    factors = factors if factors is not None and factors[0].device.type == "cpu" else None
    chunk = settings.score.chunk_users or chunk_users_for(data.n_items, settings.score.memory_budget_mb, factors is not None)
    similarity = _similarity(settings, model, data, any(p.diversity > 0 for p in settings.placements))
    blocked = rules.blocked(data.matrix)
    for empty in (p.placement.name for p in rules.placements if len(p.eligible) == 0):
        log.warning("placement %s: no item passes its filter and tonight's rules; its lists are empty", empty)
    # A diversified placement may keep its items' similarity block for the night within half the memory budget.
    cells = int((settings.score.memory_budget_mb or DEFAULT_MEMORY_BUDGET_MB) * 2**20 // 8)
    plans = [PlacementPlan(items, top_n, data.n_items, blocked, factors[1] if factors else None, similarity, cells)
             for items in rules.placements]
    user_ids, item_ids = pa.array(data.user_ids.astype(str)), pa.array(data.item_ids.astype(str))
    paths = [files.score_part(shard) if p.name == DEFAULT_PLACEMENT else files.placement_part(p.name, shard)
             for p in plans]
    for stale in files.scores.glob(f"placements/*-part-{shard:05d}.parquet"):  # a placement not scored tonight
        if stale not in paths:
            stale.unlink()
    rows = _write(plans, paths, users, chunk, model, factors, user_ids, item_ids, champion.model, shard)
    log.info("shard %d/%d: %d users, rows per placement %s from %s; rules %s", shard, n_shards, len(users), rows,
             champion.model, rules.counts)
    return {"shard": shard, "users": int(len(users)), "rows": rows[DEFAULT_PLACEMENT], "placements": rows,
            "path": str(paths[0]), **summary(rules, data.n_items)}


def _write(plans: list[PlacementPlan], paths: list[Any], users: np.ndarray, chunk: int, model: Recommender,
           factors: Any, user_ids: pa.Array, item_ids: pa.Array, model_name: str, shard: int) -> dict[str, int]:
    """Stream the shard's users chunk by chunk into one Parquet file per placement, each renamed into place.

    One thread writes a chunk's tables while the next chunk is ranked (Parquet encoding and torch both release
    the GIL); waiting for it before handing over the next keeps at most two chunks' rows in memory."""
    rows = {plan.name: 0 for plan in plans}
    with ExitStack() as stack:
        writers = []
        for plan, final in zip(plans, paths):
            final.parent.mkdir(parents=True, exist_ok=True)
            tmp = stack.enter_context(replacing(final))
            schema = SCORES_SCHEMA if plan.name == DEFAULT_PLACEMENT else PLACEMENT_SCHEMA
            writers.append(stack.enter_context(pq.ParquetWriter(tmp, schema, **PARQUET_OPTIONS)))
        background = stack.enter_context(ThreadPoolExecutor(max_workers=1, thread_name_prefix="score-writer"))
        pending: Future | None = None
        starts = range(0, len(users), chunk)
        with torch.inference_mode():
            for lo in tqdm(starts, total=len(starts), desc=f"score shard {shard}", disable=None):
                scored = ChunkScores(model, users[lo:lo + chunk], factors[0] if factors else None)
                tables = [_rows(plan.lists(scored), scored.users, user_ids, item_ids, model_name,
                                None if plan.name == DEFAULT_PLACEMENT else plan.name) for plan in plans]
                if pending is not None:
                    pending.result()  # the previous chunk is written (or its error raised here)
                pending = background.submit(_write_tables, writers, tables)
                for plan, table in zip(plans, tables):
                    rows[plan.name] += table.num_rows
        if pending is not None:
            pending.result()
        maybe_crash("score:before_rename")
    return rows


def _write_tables(writers: list[pq.ParquetWriter], tables: list[pa.Table]) -> None:
    for writer, table in zip(writers, tables):
        writer.write_table(table)
