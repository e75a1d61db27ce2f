"""Top-k ranking with seen-item masking, shared by every model (LensKit's TopN component, implicit's recommend).

Users are scored in chunks: one (chunk x items) score matrix at a time, the chunk's histories written into it
as -inf straight from the CSR arrays (the history is never densified), then ``torch.topk``. Users with fewer
than k unseen items get fewer rows: padding slots carry item -1 and are dropped by ``to_rows``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
import torch

from models.base import Recommender


@dataclass
class TopK:
    """The top-k of a batch of users: item column indices and scores, best first."""

    users: np.ndarray  # (n,) row indices into the training matrix
    items: np.ndarray  # (n, k) int64 item column indices; -1 marks an empty slot
    scores: np.ndarray  # (n, k) float32


def mask_seen(scores: torch.Tensor, history: sp.csr_matrix, users: np.ndarray) -> None:
    """Set, in place, the score of every item in each user's history to -inf."""
    indptr = history.indptr
    starts, ends = indptr[users], indptr[users + 1]
    counts = ends - starts
    if counts.sum() == 0:
        return
    rows = np.repeat(np.arange(len(users)), counts)
    # Gather the column indices of all the chunk's rows in one vectorised step.
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    cols = history.indices[np.arange(counts.sum()) + offsets]
    scores[torch.from_numpy(rows).to(scores.device), torch.from_numpy(cols.astype(np.int64)).to(scores.device)] = float("-inf")


def topk_masked(scores: torch.Tensor, k: int, history: sp.csr_matrix | None, users: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, indices) of the k best unseen items per row of ``scores``; masked slots get index -1."""
    if history is not None:
        mask_seen(scores, history, users)
    k = min(k, scores.shape[1])
    values, indices = torch.topk(scores, k, dim=1, sorted=True)
    indices[torch.isneginf(values)] = -1
    return values, indices


def recommend(
    model: Recommender,
    users: np.ndarray,
    k: int,
    history: sp.csr_matrix | None = None,
    chunk_users: int = 2048,
    history_rows: np.ndarray | None = None,
) -> Iterator[TopK]:
    """Yield the top-k of ``users`` chunk by chunk, excluding each user's items in ``history`` when given.

    ``history_rows[i]`` is the row of ``history`` holding user ``users[i]``'s items (default: the same index).
    """
    users = np.asarray(users, dtype=np.int64)
    rows = users if history_rows is None else np.asarray(history_rows, dtype=np.int64)
    with torch.inference_mode():
        for lo in range(0, len(users), chunk_users):
            chunk = users[lo : lo + chunk_users]
            scores = model.score(chunk).to(torch.float32)
            if not scores.is_contiguous():
                scores = scores.contiguous()
            values, indices = topk_masked(scores, k, history, rows[lo : lo + chunk_users])
            yield TopK(users=chunk, items=indices.cpu().numpy(), scores=values.cpu().numpy())


def to_rows(top: TopK, user_ids: np.ndarray, item_ids: np.ndarray) -> pa.Table:
    """Long format for the recommendations table: user_id, rank (1-based), item_id, score; empty slots dropped."""
    n, k = top.items.shape
    valid = top.items >= 0
    user_idx = np.repeat(top.users, k).reshape(n, k)[valid]
    ranks = np.tile(np.arange(1, k + 1, dtype=np.int32), n).reshape(n, k)[valid]
    return pa.table(
        {
            "user_id": pa.array(user_ids[user_idx].astype(str), pa.string()),
            "rank": pa.array(ranks, pa.int32()),
            "item_id": pa.array(item_ids[top.items[valid]].astype(str), pa.string()),
            "score": pa.array(top.scores[valid].astype(np.float32), pa.float32()),
        }
    )
