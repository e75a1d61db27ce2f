"""Diversity re-ranking: maximal marginal relevance (Carbonell & Goldstein 1998) over each user's candidate pool.

A pool is a user's top-m items (``models.topk.recommend`` with k = m), best first. ``rerank_mmr`` picks k of them
greedily, each step the item maximising ``(1 - diversity) * rel - diversity * max_sim_to_chosen``, where ``rel``
is the user's scores min-max normalised over their pool and ``max_sim_to_chosen`` the item's largest similarity
to the items already picked. Similarities come from an ``ItemSimilarity``: a trained model's item-item view or
plain item vectors, either way values in [0, 1] with a unit diagonal.

Everything runs over a whole chunk of users at once: the similarity block of the chunk's distinct pool items is
computed once and gathered into an (n, m, m) tensor. Callers pass chunks (as ``recommend`` yields them) small
enough that n * m * m floats and the block, u * u floats for u <= min(n * m, n_items) distinct items, fit in
memory: 2048 users with pools of 50 take 20 MB for the gather, and at most 4 u^2 bytes for the block.
"""

from __future__ import annotations

import numpy as np
import torch

from models.base import Recommender

#: Memory for the rows of ``similar_items`` held at once while ``from_model`` builds a block.
ROWS_BUDGET_MB = 256


class ItemSimilarity:
    """Pairwise item similarity in [0, 1] for re-ranking."""

    def __init__(self, model: Recommender | None = None, vectors: torch.Tensor | None = None) -> None:
        if (model is None) == (vectors is None):
            raise ValueError("give a model or item vectors")
        self.model = model
        self.vectors = vectors

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
        whose view is not symmetric). So each item's nearest neighbour sits near 1 whatever the model's scale, and
        a pair's value does not depend on which other items share the chunk (a per-block maximum would). Since
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

    def _model_block(self, items: np.ndarray) -> torch.Tensor:
        model = self.model
        u = len(items)
        chunk = max(1, int(ROWS_BUDGET_MB * 2**20 // (4 * max(model.n_items, 1))))
        parts, row_max = [], []
        with torch.inference_mode():
            for lo in range(0, u, chunk):
                rows = model.similar_items(items[lo : lo + chunk]).to(torch.float32).clamp_min(0.0)
                local = torch.arange(rows.shape[0], device=rows.device)
                rows[local, torch.from_numpy(items[lo : lo + chunk]).to(rows.device)] = 0.0  # not its own neighbour
                row_max.append(rows.amax(dim=1))
                parts.append(rows[:, torch.from_numpy(items).to(rows.device)])
            s = torch.cat(parts)
            s = torch.maximum(s, s.T)
            reach = torch.maximum(torch.cat(row_max), s.amax(dim=0))
            denom = torch.sqrt(reach[:, None] * reach[None, :])
            out = torch.where(denom > 0, s / denom.clamp_min(1e-30), torch.zeros_like(s)).clamp_(0.0, 1.0)
        return out.clone()  # a normal tensor, not an inference one


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
    call, over the chunk's distinct valid items: see the module docstring for the memory this takes.
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
    unique = np.unique(pool_items[valid_np])
    if len(unique) == 0:
        return out_items, out_scores
    block = similarity.block(unique).to(torch.float32)
    device = block.device
    local = torch.from_numpy(np.where(valid_np, np.searchsorted(unique, pool_items), 0)).to(device)
    sim = block[local[:, :, None], local[:, None, :]]  # (n, m, m): sim[u, i, j] between pool slots i and j
    del block

    valid = torch.from_numpy(valid_np).to(device)
    scores = torch.from_numpy(np.where(valid_np, pool_scores, 0.0)).to(device)
    lo = torch.where(valid, scores, float("inf")).amin(dim=1, keepdim=True)
    hi = torch.where(valid, scores, float("-inf")).amax(dim=1, keepdim=True)
    span = hi - lo
    rel = torch.where(span > 0, (scores - lo) / torch.where(span > 0, span, 1.0), 1.0)  # one distinct score: all 1
    relevance = (1.0 - diversity) * rel
    max_sim = torch.zeros((n, m), dtype=torch.float32, device=device)
    available = valid.clone()
    rows = torch.arange(n, device=device)
    picks = torch.full((n, steps), -1, dtype=torch.int64, device=device)
    for step in range(steps):
        gain = torch.where(available, relevance - diversity * max_sim, float("-inf"))
        pick = torch.argmax(gain, dim=1)  # the first of equal gains: the better-ranked item
        found = available[rows, pick]
        picks[:, step] = torch.where(found, pick, -1)
        available[rows, pick] = False
        max_sim = torch.maximum(max_sim, sim[rows, pick])
    picks = picks.cpu().numpy()
    chosen = picks >= 0
    slot = np.where(chosen, picks, 0)
    out_items[:, :steps] = np.where(chosen, np.take_along_axis(pool_items, slot, axis=1), -1)
    out_scores[:, :steps] = np.where(chosen, np.take_along_axis(pool_scores, slot, axis=1), float("-inf"))
    return out_items, out_scores
