"""Diversity re-ranking: maximal marginal relevance (Carbonell & Goldstein 1998) over each user's candidate pool.

A pool is a user's top-m items (``models.topk.recommend`` with k = m), best first. ``rerank_mmr`` picks k of them
greedily, each step the item maximising ``(1 - diversity) * rel - diversity * max_sim_to_chosen``, where ``rel``
is the user's scores min-max normalised over their pool and ``max_sim_to_chosen`` the item's largest similarity
to the items already picked. Similarities come from an ``ItemSimilarity``: a trained model's item-item view or
plain item vectors, either way values in [0, 1] with a unit diagonal.

Everything runs over a whole chunk of users at once: the similarity block of the chunk's distinct pool items is
computed once, and each step gathers from it the picked items' similarities to every pool slot, (n, m) floats.
Callers pass chunks (as ``recommend`` yields them) small enough that the block, u * u floats for
u <= min(n * m, n_items) distinct items, fits in memory: at most 4 u^2 bytes. When many chunks draw their pools
from one set of items (a placement's), ``ItemSimilarity.restricted`` computes that set's block once instead; when
that set is too big to keep its block, ``ItemSimilarity.pooled`` (models whose view is a cosine of item vectors,
``Recommender.unit_item_vectors``) computes each item's scale (its reach, see ``block``) once, and each step the
picked items' rows of their pools' blocks from the pools' vectors, (n, m, d) floats: work and memory grow with
the users alone. Other models build a block per chunk, against every item.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from models.base import Recommender

#: Memory for the rows of ``similar_items`` held at once while ``from_model`` builds a block (beside the block
#: itself, which a placement may keep for the night: ``ItemSimilarity.restricted``).
ROWS_BUDGET_MB = 64
#: Cells of the block normalised at once (each step holds a few temporaries of this size).
_NORMALISE_CELLS = 2**22

#: Each user's picked pool slot (n, 1) -> that item's similarity to every slot of their pool (n, m).
Picked = Callable[[torch.Tensor], torch.Tensor]


class PoolVectors(NamedTuple):
    """What ``ItemSimilarity.pooled`` keeps: unit item vectors (n_items, d) and each item's reach (-1: not kept)."""

    unit: torch.Tensor
    reach: torch.Tensor


class ItemSimilarity:
    """Pairwise item similarity in [0, 1] for re-ranking."""

    def __init__(self, model: Recommender | None = None, vectors: torch.Tensor | None = None) -> None:
        if (model is None) == (vectors is None):
            raise ValueError("give a model or item vectors")
        self.model = model
        self.vectors = vectors
        #: Once ``restricted``: (the block, each item's row in it or -1); None computes a block per ``rerank_mmr``.
        self.cache: tuple[torch.Tensor, np.ndarray] | None = None
        #: Once ``pooled``: the vectors and reach that every pool's similarities are computed from.
        self.pool_vectors: PoolVectors | None = None

    @classmethod
    def from_model(cls, model: Recommender) -> ItemSimilarity:
        """The item-item view of a trained model (``model.similar_items``), normalised to [0, 1] (see ``block``)."""
        if not model.supports_similar_items:
            raise ValueError(f"{model.name} has no item-item similarity")
        return cls(model=model)

    @classmethod
    def from_vectors(cls, vectors: np.ndarray | torch.Tensor) -> ItemSimilarity:
        """The cosine of item vectors (n_items, d), negatives clipped to 0; an all-zero vector is like no other."""
        v = torch.as_tensor(vectors).to(torch.float32)
        norms = torch.linalg.vector_norm(v, dim=1, keepdim=True)
        return cls(vectors=torch.where(norms > 0, v / norms.clamp_min(1e-30), torch.zeros_like(v)))

    def block(self, items: np.ndarray) -> torch.Tensor:
        """(len(items), len(items)) float32 similarities among ``items`` (unique column indices): symmetric, in
        [0, 1], diagonal 1.

        From a model, whose scales differ (EASE weights, cosines, dot products): S = similar_items(items)[:, items],
        symmetrised as max(S, S.T) and negatives set to 0; then S_ij is divided by sqrt(r_i r_j), where r_i is item
        i's largest off-diagonal similarity over its whole ``similar_items`` row (and its block column, for models
        whose view is not symmetric: there the block's items count, which ``restricted`` fixes for the night). So
        each item's nearest neighbour sits near 1 whatever the model's scale, and for a symmetric view a pair's
        value does not depend on which other items share the chunk (a per-block maximum would). Since
        S_ij <= min(r_i, r_j), the values stay within [0, 1].
        """
        items = np.asarray(items, dtype=np.int64)
        if self.vectors is not None:
            v = self.vectors[torch.from_numpy(items).to(self.vectors.device)]
            out = (v @ v.T).clamp_(0.0, 1.0)
        else:
            out = self._model_block(items)
        out.fill_diagonal_(1.0)
        return out

    def restricted(self, items: np.ndarray) -> ItemSimilarity:
        """The same similarities with the block among ``items`` computed once: ``rerank_mmr`` then gathers every
        pool of those items from it, with no model call per batch; it holds len(items)^2 floats. For a symmetric
        view (factor cosines, vectors) a pair's value depends only on its two items, so the lists are exactly
        those of a block per batch; for an asymmetric one, r_i's block column is now all of ``items`` (the same
        all night) rather than the batch's pool items, which can lower a pair's value slightly."""
        items = np.unique(np.asarray(items, dtype=np.int64))
        row_of = np.full(int(items.max()) + 1 if len(items) else 0, -1, dtype=np.int64)
        row_of[items] = np.arange(len(items))
        cached = copy.copy(self)
        cached.cache = (self.block(items).to(torch.float32).contiguous(), row_of)
        return cached

    @property
    def poolable(self) -> bool:
        """Whether ``pooled`` applies: a model whose item-item view is a cosine of its unit item vectors."""
        return self.model is not None and self.model.unit_item_vectors() is not None

    def pooled(self, items: np.ndarray) -> ItemSimilarity:
        """The same similarities with each item's reach r_i (see ``block``) computed once for ``items``, from
        their rows against every item (``similar_items``'s, chunk by chunk); ``rerank_mmr`` then computes the picked items' similarities to their pool
        from the pool's unit vectors, with no row against every item per batch. The view is symmetric, so a pair's
        value depends only on its two items: the lists are those of a block per batch, or of ``restricted``, up to
        the float32 rounding of the products. Both the reach and the pool products here are float64 dots rounded
        to float32, so they agree bit for bit with each other as one GEMM's do: an item's nearest neighbour comes
        out exactly 1 (as in ``block``), and the ties it makes at high diversity fall the same way; float32
        products summed in two kernels' orders would not. Holds n_items floats besides the vectors."""
        unit = self.model.unit_item_vectors() if self.model is not None else None
        if unit is None:
            raise ValueError("pooled similarity needs a model with unit item vectors")
        items = np.unique(np.asarray(items, dtype=np.int64))
        with torch.inference_mode():
            unit = unit.to(torch.float32).contiguous()
            reach = torch.full((unit.shape[0],), -1.0, device=unit.device)
            wide = unit.double()
            chunk = max(1, int(ROWS_BUDGET_MB * 2**20 // (8 * max(unit.shape[0], 1))))
            for lo in range(0, len(items), chunk):
                own = torch.from_numpy(items[lo : lo + chunk]).to(unit.device)
                rows = (wide[own] @ wide.T).float()  # what similar_items returns for these items, rounded once
                rows[torch.arange(len(own), device=unit.device), own] = 0.0  # not its own neighbour
                reach[own] = rows.amax(dim=1).clamp_min(0.0)
                del rows  # before the next chunk's rows exist
            del wide
        pooled = copy.copy(self)
        pooled.pool_vectors = PoolVectors(unit, reach)
        return pooled

    def pool_similarity(self, pool_items: np.ndarray, valid: np.ndarray) -> tuple[Picked, torch.device]:
        """(a function from each user's picked slot, (n, 1), to its similarities to every slot of their pool, (n, m)
        float32; the device it works on). From the pools' vectors when ``pooled``; else read from a block: the
        cached one when ``restricted``, or one over the pools' distinct valid items. Invalid slots read arbitrary
        values in [0, 1] (item 0's), as does the picked slot itself: ``rerank_mmr`` never picks either again."""
        if self.pool_vectors is not None:
            return _vector_picks(self.pool_vectors, pool_items, valid), self.pool_vectors.unit.device
        if self.cache is None:
            unique = np.unique(pool_items[valid])
            block, local = self.block(unique).to(torch.float32), np.searchsorted(unique, pool_items)
        else:
            block, row_of = self.cache
            wanted = np.where(valid, pool_items, 0)
            if len(row_of) == 0 or wanted.max() >= len(row_of) or (row_of[wanted][valid] < 0).any():
                raise KeyError("a pool holds items outside the similarity's cached ones")
            local = row_of[wanted]
        local = torch.from_numpy(np.where(valid, local, 0)).to(block.device)
        block, width = block.contiguous(), block.shape[1]
        # The picked item's row of the block at its pool's rows: an (n, m) gather per step instead of every user's
        # whole (m, m) pool block up front.
        return (lambda pick: torch.take(block, local.gather(1, pick) * width + local)), block.device

    def _model_block(self, items: np.ndarray) -> torch.Tensor:
        """See ``block``. Written into one (u, u) tensor in place, row chunk by row chunk, so a large block (a
        placement's whole subset, ``restricted``) peaks near its own size rather than several copies of it."""
        model = self.model
        u = len(items)
        chunk = max(1, int(ROWS_BUDGET_MB * 2**20 // (4 * max(model.n_items, 1))))
        s = reach = None
        with torch.inference_mode():
            for lo in range(0, u, chunk):
                rows = model.similar_items(items[lo : lo + chunk]).to(torch.float32)
                own = torch.from_numpy(items[lo : lo + chunk]).to(rows.device)
                if s is None:  # a normal tensor, not an inference one: callers may write to it in place
                    with torch.inference_mode(False):
                        s, reach = torch.empty((u, u), device=rows.device), torch.empty(u, device=rows.device)
                rows[torch.arange(rows.shape[0], device=rows.device), own] = 0.0  # not its own neighbour
                # max(clamp(row, 0)) == clamp(max(row), 0): only the kept columns need clamping.
                reach[lo : lo + chunk] = rows.amax(dim=1).clamp_min(0.0)
                s[lo : lo + chunk] = rows.index_select(1, torch.from_numpy(items).to(rows.device)).clamp_min_(0.0)
                del rows  # before the next chunk's rows exist: one chunk of them at a time
            if s is None:
                return torch.empty((0, 0))
            _symmetrise_max(s)
            reach = torch.maximum(reach, s.amax(dim=0))
            rows_at_once = max(1, _NORMALISE_CELLS // u)
            for lo in range(0, u, rows_at_once):  # s / sqrt(r_i r_j), in place, a few rows at a time
                part = s[lo : lo + rows_at_once]
                denom = torch.sqrt(reach[lo : lo + rows_at_once, None] * reach[None, :])
                part.copy_(torch.where(denom > 0, part / denom.clamp_min(1e-30), 0.0).clamp_(0.0, 1.0))
        return s


def _vector_picks(pooled: PoolVectors, pool_items: np.ndarray, valid: np.ndarray) -> Picked:
    """``pool_similarity`` from unit vectors: the picked item's row of its pool's block, by ``block``'s formula
    with S_ij = u_i . u_j (symmetric as it stands): the pool's vectors are gathered once, (n, m, d), and each step
    takes k of the m rows of the block, never building it (fewer operations, and no (n, m, m) floats)."""
    idx = torch.from_numpy(np.where(valid, pool_items, 0)).to(pooled.unit.device)
    if idx.numel() and int(idx.max()) >= len(pooled.reach):
        raise KeyError("a pool holds items outside the similarity's pooled ones")
    reach = pooled.reach[idx]
    if (reach[torch.from_numpy(valid).to(reach.device)] < 0).any():
        raise KeyError("a pool holds items outside the similarity's pooled ones")
    n, m = idx.shape
    # float64, as ``pooled``'s reach (see there); index_select gathers faster than indexing.
    vectors = pooled.unit.index_select(0, idx.reshape(-1)).view(n, m, -1).double()

    def picked_to_pool(pick: torch.Tensor) -> torch.Tensor:
        own = vectors.gather(1, pick[:, :, None].expand(-1, 1, vectors.shape[2]))  # (n, 1, d)
        dots = torch.bmm(vectors, own.transpose(1, 2)).squeeze(2).float().clamp_min_(0.0)
        denom = torch.sqrt(reach.gather(1, pick) * reach)
        return torch.where(denom > 0, dots / denom.clamp_min(1e-30), 0.0).clamp_(0.0, 1.0)

    return picked_to_pool


def _symmetrise_max(s: torch.Tensor, tile: int = 512) -> None:
    """s = max(s, s.T) in place, tile by tile (a whole transposed read walks memory column-wise, slowly)."""
    u = s.shape[0]
    for lo in range(0, u, tile):
        for at in range(lo, u, tile):
            top = torch.maximum(s[lo : lo + tile, at : at + tile], s[at : at + tile, lo : lo + tile].T)
            s[lo : lo + tile, at : at + tile] = top
            s[at : at + tile, lo : lo + tile] = top.T


def rerank_mmr(
    pool_items: np.ndarray,
    pool_scores: np.ndarray,
    similarity: ItemSimilarity,
    k: int,
    diversity: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Re-rank each user's pool by maximal marginal relevance: (items (n, k) int64, scores (n, k) float32).

    ``pool_items`` (n, m) holds item indices best first per user, -1 at empty slots; ``pool_scores`` (n, m) their
    scores (-inf at empty slots; a slot counts as valid when its item is >= 0 and its score finite). The scores
    returned are each chosen item's original score, in the order chosen; -1 / -inf pad users with fewer than k
    valid items. ``diversity`` in [0, 1]: 0 returns the first k of the pool unchanged (no similarity is
    computed), 1 picks by dissimilarity alone; ties go to the item earlier in the pool. One similarity block per
    call, over the chunk's distinct valid items (or none, ``pooled``): see the module docstring for the memory
    this takes.
    """
    if not 0.0 <= diversity <= 1.0:
        raise ValueError(f"diversity must lie in [0, 1], not {diversity}")
    pool_items = np.asarray(pool_items, dtype=np.int64)
    pool_scores = np.asarray(pool_scores, dtype=np.float32)
    n, m = pool_items.shape
    out_items = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), float("-inf"), dtype=np.float32)
    steps = min(k, m)
    if diversity == 0 or n == 0 or steps == 0:
        out_items[:, :steps] = pool_items[:, :steps]
        out_scores[:, :steps] = pool_scores[:, :steps]
        return out_items, out_scores
    valid_np = (pool_items >= 0) & np.isfinite(pool_scores)
    if not valid_np.any():
        return out_items, out_scores
    picked_to_pool, device = similarity.pool_similarity(pool_items, valid_np)
    valid = torch.from_numpy(valid_np).to(device)
    scores = torch.from_numpy(np.where(valid_np, pool_scores, 0.0)).to(device)
    lo = torch.where(valid, scores, float("inf")).amin(dim=1, keepdim=True)
    hi = torch.where(valid, scores, float("-inf")).amax(dim=1, keepdim=True)
    span = hi - lo
    rel = torch.where(span > 0, (scores - lo) / torch.where(span > 0, span, 1.0), 1.0)  # one distinct score: all 1
    relevance = (1.0 - diversity) * rel
    max_sim = torch.zeros((n, m), dtype=torch.float32, device=device)
    available = valid.clone()
    picks = torch.full((n, steps), -1, dtype=torch.int64, device=device)
    for step in range(steps):
        gain = torch.where(available, relevance - diversity * max_sim, float("-inf"))
        pick = torch.argmax(gain, dim=1, keepdim=True)  # the first of equal gains: the better-ranked item
        picks[:, step] = torch.where(available.gather(1, pick), pick, -1).squeeze(1)
        available.scatter_(1, pick, False)
        max_sim = torch.maximum(max_sim, picked_to_pool(pick))
    picks = picks.cpu().numpy()
    chosen = picks >= 0
    slot = np.where(chosen, picks, 0)
    out_items[:, :steps] = np.where(chosen, np.take_along_axis(pool_items, slot, axis=1), -1)
    out_scores[:, :steps] = np.where(chosen, np.take_along_axis(pool_scores, slot, axis=1), float("-inf"))
    return out_items, out_scores
