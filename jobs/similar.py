"""The similar_items table: for every item its top-K most similar items, from each configured method.

Methods: ``champion`` (the serving model's own item-item view, when it has one: item-kNN, EASE, factor
models) and ``content_tfidf`` (item text and genres; covers items with few ratings). Each method writes
``similar/<method>.parquet``; an item is never similar to itself (the shared top-k masks the diagonal).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from jobs.config import Settings
from jobs.runs import RunContext, run_key
from jobs.snapshot import load_snapshot
from jobs.train import artifact_path
from models.base import Recommender, TrainOptions
from models.registry import available, build
from models.topk import TopK, to_rows, topk_masked

log = logging.getLogger("recs.similar")


def similar_dir(run_dir: Path) -> Path:
    return run_dir / "similar"


def top_similar(model: Recommender, item_ids: np.ndarray, k: int, method: str, chunk: int = 1024) -> pa.Table:
    """Long table (item_id, rank, similar_item_id, score, method) of every item's k nearest items.

    The same masking, top-k and long format as user recommendations, with items in the users' place: the
    identity matrix is each item's "history", so an item is never its own neighbour.
    """
    import torch

    n = len(item_ids)
    self_mask = sp.identity(n, format="csr", dtype=np.float32)
    parts = []
    with torch.inference_mode():
        for lo in range(0, n, chunk):
            items = np.arange(lo, min(lo + chunk, n))
            values, indices = topk_masked(model.similar_items(items).to(torch.float32).contiguous(), k, self_mask, items)
            top = TopK(users=items, items=indices.cpu().numpy(), scores=values.cpu().numpy())
            parts.append(to_rows(top, item_ids, item_ids).rename_columns(["item_id", "rank", "similar_item_id", "score"]))
    table = pa.concat_tables(parts) if parts else pa.table({"item_id": [], "rank": [], "similar_item_id": [], "score": []})
    return table.append_column("method", pa.array([method] * table.num_rows, pa.string()))


def write_similar_items(settings: Settings, run: RunContext, champion: dict[str, str]) -> dict[str, Any]:
    """Compute similar items by every configured method that applies tonight; returns rows per method."""
    run_dir = run.dir(settings)
    out = similar_dir(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("*.parquet"):  # a rerun must not publish a method this attempt skipped
        stale.unlink()
    written: dict[str, int] = {}
    for method in settings.score.similar_methods:
        if method == "champion":
            model_dir = settings.run_dir(run_key(champion["run_id"]))
            model = Recommender.load(artifact_path(model_dir, champion["model"]))
            if not model.supports_similar_items:
                log.info("champion %s has no item-item similarity; skipped", champion["model"])
                continue
            item_ids = pq.read_table(model_dir / "snapshot" / "items.parquet", columns=["item_id"]).column(0).to_numpy(zero_copy_only=False)
            name = champion["model"]
        elif method in available():
            data = load_snapshot(run_dir).data
            features = data.item_features
            if features is None or features.isna().all().all():
                log.info("no item metadata; %s similar items skipped", method)
                continue
            model = build(method).fit(data, TrainOptions(seed=settings.train.seed))
            item_ids, name = data.item_ids, method
        else:
            log.warning("similar-items method %s is not available in this install; skipped", method)
            continue
        table = top_similar(model, np.asarray(item_ids, dtype=object), settings.score.similar_top_k, name)
        path = out / f"{name}.parquet"
        pq.write_table(table, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
        written[name] = table.num_rows
    log.info("similar items: %s", written)
    return written
