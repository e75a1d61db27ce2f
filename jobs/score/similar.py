"""The similar_items table: for every item its top-K most similar items, from each configured method.

Methods: ``champion`` (the serving model's own item-item view, when it has one: item-kNN, EASE, factor
models) and ``content_tfidf`` (item text and genres; covers items with few ratings). Each method writes
``similar/<method>.parquet``; an item is never similar to itself (the shared top-k masks the diagonal).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from jobs.config import Settings
from jobs.files import write_parquet
from jobs.records import Champion, RunContext
from jobs.score.rules import allowed_items
from jobs.train.candidates import load_artifact, train_options
from jobs.train.snapshot import load_snapshot, snapshot_ids
from models.base import Recommender
from models.registry import available, build
from models.topk import TopK, to_rows, topk_masked

if TYPE_CHECKING:
    import torch

log = logging.getLogger("recs.similar")

#: Params of a method's model when it is fitted only for its item-item view: content TF-IDF's similarities are its
#: item vectors alone, so the users' learned profiles (a ridge regression per user, most of its fit) are skipped.
SIMILARITY_ONLY: dict[str, dict[str, object]] = {"content_tfidf": {"profile": "mean"}}


def similarity_model(method: str, data: Any, settings: Settings) -> Recommender | None:
    """``method``'s model fitted on ``data`` for its item similarities only (``SIMILARITY_ONLY``); None, saying
    why, when this install lacks it or the snapshot has no item metadata for it."""
    if method not in available():
        log.warning("similar-items method %s is not available in this install; skipped", method)
        return None
    features = data.item_features
    if features is None or features.isna().all().all():
        log.info("no item metadata; %s similarities skipped", method)
        return None
    return build(method, SIMILARITY_ONLY.get(method)).fit(data, train_options(settings))


def top_similar(model: Recommender, item_ids: np.ndarray, k: int, method: str, chunk: int = 1024,
                allowed: np.ndarray | None = None) -> pa.Table:
    """Long table (item_id, rank, similar_item_id, score, method) of every item's k nearest items.

    The same masking, top-k and long format as user recommendations, with items in the users' place: the
    identity matrix is each item's "history", so an item is never its own neighbour; items not ``allowed``
    tonight (unavailable, excluded for everyone) are no item's neighbour either.
    """
    import torch

    n = len(item_ids)
    self_mask = sp.identity(n, format="csr", dtype=np.float32)
    ruled_out = torch.from_numpy(np.flatnonzero(~allowed)) if allowed is not None and not allowed.all() else None
    parts = []
    with torch.inference_mode():
        rows = _ItemRows(model, chunk)
        for lo in range(0, n, chunk):
            items = np.arange(lo, min(lo + chunk, n))
            scores = rows.similarities(items)
            if ruled_out is not None:
                scores[:, ruled_out] = float("-inf")
            values, indices = topk_masked(scores, k, self_mask, items)
            top = TopK(users=items, items=indices.cpu().numpy(), scores=values.cpu().numpy())
            parts.append(to_rows(top, item_ids, item_ids).rename_columns(["item_id", "rank", "similar_item_id", "score"]))
    table = pa.concat_tables(parts) if parts else pa.table({"item_id": [], "rank": [], "similar_item_id": [], "score": []})
    return table.append_column("method", pa.array([method] * table.num_rows, pa.string()))


class _ItemRows:
    """Rows of item-item similarities for ``top_similar``, chunk after chunk.

    Every chunk's rows land in one reused (chunk x items) buffer: at 100k items a fresh tensor per chunk spent as
    long faulting in its pages as computing into them (docs/benchmarks.md, "Similar items at 100k items"). A factor
    model's similarities are products of its unit item vectors (``Recommender.unit_item_vectors``), normalised
    once here instead of once per chunk and multiplied straight into the buffer; other models give their rows by
    ``similar_items``, copied in.
    """

    def __init__(self, model: Recommender, chunk: int) -> None:
        import torch

        self.model, self.chunk = model, chunk
        unit = model.unit_item_vectors()
        self.unit = None if unit is None else unit.to(torch.float32).contiguous()
        self.buffer: torch.Tensor | None = None

    def _rows_buffer(self, n: int, n_items: int, device: torch.device) -> torch.Tensor:
        import torch

        if self.buffer is None:
            self.buffer = torch.empty((self.chunk, n_items), dtype=torch.float32, device=device)
        return self.buffer[:n]

    def similarities(self, items: np.ndarray) -> torch.Tensor:
        import torch

        if self.unit is None:
            rows = self.model.similar_items(items)
            return self._rows_buffer(len(items), rows.shape[1], rows.device).copy_(rows)
        lo, hi = int(items[0]), int(items[-1]) + 1  # top_similar's chunks are ranges of columns
        out = self._rows_buffer(hi - lo, len(self.unit), self.unit.device)
        return torch.mm(self.unit[lo:hi], self.unit.T, out=out)


def write_similar_items(settings: Settings, run: RunContext, champion: Champion) -> dict[str, Any]:
    """Compute similar items by every configured method that applies tonight; returns rows per method."""
    files = settings.layout.run(run.key)
    files.similar.mkdir(parents=True, exist_ok=True)
    for stale in files.similar.glob("*.parquet"):  # a rerun must not publish a method this attempt skipped
        stale.unlink()
    written: dict[str, int] = {}
    allowed = allowed_items(files, run.as_of, len(snapshot_ids(files, "items")))
    for method in settings.score.similar_methods:
        found = _method_model(settings, files, champion, method)
        if found is None:
            continue
        model, item_ids, name = found
        table = top_similar(model, np.asarray(item_ids, dtype=object), settings.score.similar_top_k, name,
                            allowed=allowed)
        write_parquet(table, files.similar_file(name))
        written[name] = table.num_rows
    log.info("similar items: %s", written)
    return written


def _method_model(settings: Settings, files: Any, champion: Champion, method: str) -> tuple[Recommender, Any, str] | None:
    """(a model with item similarities, its item ids, the method's name) for ``method``; None when it does not apply."""
    if method == "champion":
        model = load_artifact(settings, champion.run_key, champion.model)
        if not model.supports_similar_items:
            log.info("champion %s has no item-item similarity; skipped", champion.model)
            return None
        return model, snapshot_ids(settings.layout.run(champion.run_key), "items"), champion.model
    data = load_snapshot(files).data
    model = similarity_model(method, data, settings)
    return None if model is None else (model, data.item_ids, method)
