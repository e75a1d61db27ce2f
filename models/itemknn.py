"""Item-based k-nearest neighbours (Sarwar et al. 2001; implicit's ItemItemRecommender), sparse throughout.

Similarity is cosine with shrinkage, ``sim(a, b) = a.b / (|a| |b| + shrinkage)``, over the item columns of the
(optionally TF-IDF or BM25 weighted) user x item matrix. Each item keeps only its ``k`` most similar items, so the
model is a sparse n_items x n_items matrix ``S`` and a user's scores are ``x_u S`` (x_u: the user's binary history).

Similarities are computed a block of items at a time (a sparse block of X^T X, densified to block x n_items
floats, then ``torch.topk``), so memory stays bounded for any catalogue size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch

from models.base import Config, Interactions, Recommender, TrainOptions

WEIGHTINGS = ("none", "tfidf", "bm25")


@dataclass(frozen=True)
class ItemKNNConfig(Config):
    #: Neighbours kept per item: its k most similar items; the rest of its similarity row is dropped.
    k: int = 100
    #: Shrinkage s in a.b / (|a||b| + s): damps similarities that rest on few co-occurrences.
    shrinkage: float = 10.0
    #: Weighting of the user x item matrix before similarities: "none", "tfidf" or "bm25" (both down-weight
    #: users with long histories; bm25 also normalises item popularity).
    weighting: str = "none"
    #: BM25 term-frequency saturation k1 (weighting="bm25" only).
    bm25_k1: float = 1.2
    #: BM25 length normalisation b in [0, 1] (weighting="bm25" only).
    bm25_b: float = 0.75
    #: Items whose similarity rows are computed at once; bounds memory to block_items x n_items floats.
    block_items: int = 2048

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, not {self.weighting!r}")
        if self.k < 1:
            raise ValueError("k must be at least 1")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "k": trial.suggest_int("k", 10, 1000, log=True),
            "shrinkage": trial.suggest_float("shrinkage", 0.0, 200.0),
        }


def weight_matrix(x: sp.csr_matrix, weighting: str, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """The user x item matrix ``x`` reweighted for similarity (implicit's tfidf_weight / bm25_weight, per user).

    idf_u = log(n_items) - log(1 + n_u) down-weights users with many items; BM25 also saturates values and
    normalises by the item's total weight.
    """
    if weighting == "none":
        return x
    x = x.tocsr(copy=True).astype(np.float32)
    n_items = x.shape[1]
    per_user = np.diff(x.indptr)
    idf = (np.log(n_items) - np.log1p(per_user)).astype(np.float32)
    row_of = np.repeat(np.arange(x.shape[0]), per_user)
    if weighting == "tfidf":
        x.data = np.sqrt(x.data) * idf[row_of]
    else:
        item_len = np.asarray(x.sum(axis=0)).ravel()
        norm = (1.0 - b) + b * item_len / max(item_len.mean(), 1e-12)
        x.data = (x.data * (k1 + 1.0) / (k1 * norm[x.indices] + x.data) * idf[row_of]).astype(np.float32)
    x.eliminate_zeros()
    return x


def top_neighbours(left: sp.csr_matrix, right: sp.csr_matrix, k: int, block_items: int,
                   transform: Callable[[torch.Tensor, int, int], torch.Tensor],
                   ) -> Iterator[tuple[int, int, torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Blocks ``(lo, hi, dots, top_val, top_idx)`` of ``left @ right`` (items x items): ``dots`` the dense rows
    lo..hi of the product, ``top_val, top_idx`` each row's ``k`` largest values after ``transform``, descending.

    ``transform(dots, lo, hi)`` turns the block into similarities (it may return ``dots`` itself); the diagonal
    is zeroed after it. Rows are computed ``block_items`` at a time, so memory stays bounded for any catalogue.
    """
    keep = min(k, right.shape[1])
    for lo in range(0, left.shape[0], block_items):
        hi = min(lo + block_items, left.shape[0])
        dots = torch.from_numpy((left[lo:hi] @ right).toarray().astype(np.float32, copy=False))
        sims = transform(dots, lo, hi)
        rows = torch.arange(hi - lo)
        sims[rows, rows + lo] = 0.0
        top_val, top_idx = torch.topk(sims, keep, dim=1, sorted=True)
        yield lo, hi, dots, top_val, top_idx


def pruned_product(left: sp.csr_matrix, right: sp.csr_matrix, k: int, block_items: int,
                   transform: Callable[[torch.Tensor, int, int], torch.Tensor]) -> sp.csr_matrix:
    """Row-pruned ``left @ right`` (items x items CSR): each row's ``k`` largest positive values after
    ``transform`` (``top_neighbours``)."""
    indptr = [np.zeros(1, np.int64)]
    indices, values = [], []
    for _, _, _, top_val, top_idx in top_neighbours(left, right, k, block_items, transform):
        nonzero = top_val > 0
        indices.append(top_idx[nonzero].numpy())
        values.append(top_val[nonzero].numpy())
        indptr.append(indptr[-1][-1] + np.cumsum(nonzero.sum(dim=1).numpy()))
    sim = sp.csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.concatenate(indptr)), shape=(left.shape[0], right.shape[1])
    )
    sim.sort_indices()
    return sim


def knn_similarity(
    x: sp.csr_matrix, k: int, shrinkage: float, block_items: int = 2048
) -> sp.csr_matrix:
    """Row-pruned cosine similarity with shrinkage between the columns of ``x``: item x item CSR, diagonal 0."""
    x = sp.csr_matrix(x, dtype=np.float32)
    xt = x.T.tocsr()
    norms = torch.from_numpy(np.sqrt(np.asarray(xt.multiply(xt).sum(axis=1)).ravel()).astype(np.float32))

    def cosine(dots: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        denom = norms[lo:hi, None] * norms[None, :] + shrinkage
        return torch.where(denom > 0, dots / denom.clamp_min(1e-30), torch.zeros((), dtype=torch.float32))

    return pruned_product(xt, x, k, block_items, cosine)


class ItemSimilarityModel(Recommender):
    """A model whose scores are ``x_u S`` for a sparse item x item matrix ``S`` (``self.similarity``) over the
    user's binary history: item-kNN, RP3beta."""

    def score(self, users: np.ndarray) -> torch.Tensor:
        users = np.asarray(users, dtype=np.int64)
        scores = (self.history[users] @ self.similarity).toarray().astype(np.float32, copy=False)
        return torch.from_numpy(scores).to(self.device)

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        items = np.asarray(items, dtype=np.int64)
        rows = self.similarity[items].toarray().astype(np.float32, copy=False)
        return torch.from_numpy(rows).to(self.device)


class ItemKNN(ItemSimilarityModel):
    """Scores item j for user u as the sum of the similarities of j to the items u interacted with."""

    name = "itemknn"
    config_class = ItemKNNConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        cfg = self.config
        history = data.implicit()
        weighted = weight_matrix(history, cfg.weighting, cfg.bm25_k1, cfg.bm25_b)
        self.similarity = knn_similarity(weighted, cfg.k, cfg.shrinkage, cfg.block_items)
        self.history = history
        self.n_users, self.n_items = history.shape
        self.device = options.torch_device
        return self
