"""Fill every placement's lists for a chunk of users from ONE scoring of the champion.

A chunk is scored once (``ChunkScores``: the dense scores, or the user vectors of a factor model); each
placement then ranks within its own items (``SubsetRanker``: the shared top-k of ``models.topk`` over a column
subset, seen and excluded items masked), so rules remove items before the top-k and every list is filled to
its length, never cut down afterwards. On top of that, per placement:

- **diversity** > 0: the top ``pool_size`` items are re-ranked by maximal marginal relevance
  (``models.diversity.rerank_mmr``) over the champion's item similarities, or content similarity when the
  champion has none. The similarity block of the placement's organic items is computed once per shard when it
  fits ``similarity_cells`` (``ItemSimilarity.restricted``), and every chunk's pools read from it; a bigger set,
  for a champion whose view is a cosine of item vectors, gets its pools' similarities from the pools' vectors
  (``ItemSimilarity.pooled``); other champions build a block per batch of users, against every item;
- **promoted slots**: promoted items compete only for those slots (the user's best-scored promoted items that
  they have not rated and are not excluded from), and each is placed where its score falls among the list's
  other items (``merge_promoted``); the organic items fill the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from jobs.score.rules import PlacementItems
from models.base import Recommender
from models.diversity import ItemSimilarity, rerank_mmr
from models.topk import DotItems, topk_dot, topk_masked

log = logging.getLogger("recs.score")

#: A diversified list re-ranks this many times its length of top-scored items (at least MIN_POOL).
POOL_FACTOR = 3
MIN_POOL = 50
#: Bound on the distinct items of one re-ranking batch without a cached block (its block: 64 MiB).
_BLOCK_ITEMS = 4096
#: Bound on the values of one re-ranking batch's pool vectors (``ItemSimilarity.pooled``; 8 MiB of float64).
_POOL_VALUES = 2**20
#: Bound on the similarity block a diversified placement keeps for the night (float32 cells; 256 MiB), when the
#: caller gives none (``score_shard`` derives it from ``score.memory_budget_mb``).
DEFAULT_SIMILARITY_CELLS = 64 * 2**20


@dataclass
class Lists:
    """A chunk's lists for one placement: item indices (-1 = empty slot), scores, and which slots are promoted."""

    items: np.ndarray
    scores: np.ndarray
    promoted: np.ndarray


class ChunkScores:
    """The champion's view of one chunk of users, computed once and shared by every placement."""

    def __init__(self, model: Recommender, users: np.ndarray, user_factors: torch.Tensor | None) -> None:
        self.model, self.users = model, users
        self.vectors = user_factors[torch.from_numpy(users)] if user_factors is not None else None
        self._dense: torch.Tensor | None = None

    def dense(self) -> torch.Tensor:
        if self._dense is None:
            self._dense = self.model.score(self.users).to(torch.float32).contiguous()
        return self._dense


class SubsetRanker:
    """Top-k of a chunk's users among a fixed set of items, with ``blocked`` (history, exclusions) masked."""

    def __init__(self, subset: np.ndarray, n_items: int, blocked: sp.csr_matrix, item_factors: torch.Tensor | None) -> None:
        self.subset = np.asarray(subset, dtype=np.int64)
        self.full = len(self.subset) == n_items
        self.blocked = blocked if self.full else sp.csr_matrix(blocked[:, self.subset])
        self.index = torch.from_numpy(self.subset)
        self.dot = None
        if item_factors is not None and len(self.subset):
            self.dot = DotItems(item_factors if self.full else item_factors[self.index])

    def top(self, chunk: ChunkScores, k: int) -> tuple[np.ndarray, np.ndarray]:
        n, k = len(chunk.users), min(k, len(self.subset))
        if k == 0:
            return np.full((n, 0), -1, dtype=np.int64), np.full((n, 0), -np.inf, dtype=np.float32)
        if self.dot is not None and chunk.vectors is not None:
            items, scores = topk_dot(chunk.vectors, self.dot, k, self.blocked, chunk.users)
        else:
            # The full set masks the shared scores in place: every placement blocks the same (user, item) pairs.
            scores_in = chunk.dense() if self.full else chunk.dense().index_select(1, self.index)
            values, indices = topk_masked(scores_in, k, self.blocked, chunk.users)
            items, scores = indices.cpu().numpy(), values.cpu().numpy()
        if not self.full:
            items = np.where(items >= 0, self.subset[np.clip(items, 0, None)], -1)
        return items, scores


def pad(items: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Lists of exactly k columns (-1 / -inf where a list is shorter)."""
    missing = k - items.shape[1]
    if missing <= 0:
        return items[:, :k], scores[:, :k]
    return (np.pad(items, ((0, 0), (0, missing)), constant_values=-1),
            np.pad(scores, ((0, 0), (0, missing)), constant_values=-np.inf))


def merge_promoted(org_items: np.ndarray, org_scores: np.ndarray, pro_items: np.ndarray, pro_scores: np.ndarray,
                   k: int) -> Lists:
    """Lists of k: each user's c valid promoted items (c <= their slots) and the first k - c organic ones, each
    promoted item placed before the first kept organic item it outscores (promoted ones in score order)."""
    n, s = pro_items.shape
    c = (pro_items >= 0).sum(axis=1)
    positions = np.arange(k)[None, :]
    kept = (positions < (k - c)[:, None]) & (org_items >= 0)
    lower = (org_scores[:, None, :] < pro_scores[:, :, None]) | ~kept[:, None, :]
    first = np.where(lower.any(axis=2), lower.argmax(axis=2), k)
    big = np.iinfo(np.int64).max
    key_org = np.where(kept, positions * (s + 2) + s + 1, big)
    key_pro = np.where(pro_items >= 0, first * (s + 2) + np.arange(s)[None, :], big)
    keys = np.concatenate([key_org, key_pro], axis=1)
    order = np.argsort(keys, axis=1, kind="stable")[:, :k]
    pick = lambda a: np.take_along_axis(a, order, axis=1)  # noqa: E731
    valid = pick(keys) < big
    items = np.where(valid, pick(np.concatenate([org_items, pro_items], axis=1)), -1)
    scores = np.where(valid, pick(np.concatenate([org_scores, pro_scores], axis=1)), -np.inf).astype(np.float32)
    promoted = valid & pick(np.concatenate([np.zeros_like(org_items, bool), np.ones_like(pro_items, bool)], axis=1))
    return Lists(items, scores, promoted)


class PlacementPlan:
    """How one placement's lists are filled tonight (see the module's docstring)."""

    def __init__(self, items: PlacementItems, top_n: int, n_items: int, blocked: sp.csr_matrix,
                 item_factors: torch.Tensor | None, similarity: ItemSimilarity | None,
                 similarity_cells: int = DEFAULT_SIMILARITY_CELLS) -> None:
        placement = items.placement
        self.name, self.k = placement.name, placement.length(top_n)
        self.slots = min(placement.promoted_slots, self.k) if len(items.promoted) else 0
        self.diversity = float(placement.diversity) if similarity is not None else 0.0
        self.pool_size = self.k if self.diversity == 0 else max(POOL_FACTOR * self.k, MIN_POOL)
        organic = items.organic if self.slots else items.eligible
        # Pools hold only organic items: their whole block, once for the night, beats a model call per batch.
        cache = self.diversity > 0 and 0 < len(organic) and len(organic) ** 2 <= similarity_cells
        self.similarity = similarity.restricted(organic) if cache else similarity
        if self.diversity > 0 and len(organic) and not cache and similarity.poolable:
            self.similarity = similarity.pooled(organic)  # too big to keep: the pools' similarities from vectors
        self.organic = SubsetRanker(organic, n_items, blocked, item_factors)
        self.promoted = SubsetRanker(items.promoted, n_items, blocked, item_factors) if self.slots else None

    def lists(self, chunk: ChunkScores) -> Lists:
        items, scores = self.organic.top(chunk, self.pool_size)
        if self.diversity > 0:
            items, scores = self._rerank(items, scores)
        items, scores = pad(items, scores, self.k)
        if self.promoted is None:
            return Lists(items, scores, np.zeros(items.shape, dtype=bool))
        pro_items, pro_scores = pad(*self.promoted.top(chunk, self.slots), self.slots)
        return merge_promoted(items, scores, pro_items, pro_scores, self.k)

    def _rerank(self, items: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """MMR over the whole chunk from the cached block, else in batches small enough for their block or pool
        vectors."""
        m = max(items.shape[1], 1)
        if getattr(self.similarity, "cache", None) is not None:
            batch = len(items)
        elif getattr(self.similarity, "pool_vectors", None) is not None:
            batch = _POOL_VALUES // (m * self.similarity.pool_vectors.unit.shape[1])  # the pools' vectors (float64)
        else:
            batch = _BLOCK_ITEMS // m  # a block over the batch's distinct items: at most _BLOCK_ITEMS of them
        batch = max(1, batch)
        parts = [rerank_mmr(items[lo:lo + batch], scores[lo:lo + batch], self.similarity, self.k, self.diversity)
                 for lo in range(0, len(items), batch)]
        if not parts:
            return pad(items, scores, self.k)
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
