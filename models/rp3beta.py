"""RP3beta (Paudel et al. 2017; the strong simple baseline of Dacrema et al. 2019): a three-step random walk
item -> user -> item with a popularity penalty, sparse throughout.

With P_ui the user x item matrix of transition probabilities (each user's binary row over its length) and P_iu the
same for items, the item-item weight is W_ij = (P_iu^alpha P_ui^alpha)_ij / deg_j^beta (the powers elementwise,
deg_j the item's number of users): alpha sharpens or flattens the walk, beta > 0 takes from popular items what
the walk gives them. Each item keeps its ``k`` largest weights (the diagonal dropped), and a user's scores are
``x_u W``, as for item-kNN (``models.itemknn``, whose blocked, pruned product it shares).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch

from models.base import Config, Interactions, TrainOptions
from models.itemknn import ItemSimilarityModel, pruned_product


@dataclass(frozen=True)
class RP3betaConfig(Config):
    #: Exponent on the transition probabilities (1 = the plain walk; below 1 flattens it, above sharpens it).
    alpha: float = 1.0
    #: Popularity penalty: weights towards item j are divided by deg_j^beta (0 = none).
    beta: float = 0.6
    #: Weights kept per item: its k largest; the rest of its row is dropped.
    k: int = 200
    #: Items whose rows are computed at once; bounds memory to block_items x n_items floats.
    block_items: int = 2048

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.alpha <= 0:
            raise ValueError("alpha must be positive")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "alpha": trial.suggest_float("alpha", 0.2, 2.0),
            "beta": trial.suggest_float("beta", 0.0, 1.0),
            "k": trial.suggest_int("k", 20, 1000, log=True),
        }


def _transitions(x: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """Each row of binary ``x`` over its length (a random walk's step probabilities), to the power ``alpha``."""
    lengths = np.diff(x.indptr).astype(np.float32)
    out = sp.csr_matrix(x, dtype=np.float32, copy=True)
    out.data = np.power(np.repeat(1.0 / np.maximum(lengths, 1.0), np.diff(x.indptr)), alpha).astype(np.float32)
    return out


def rp3beta_weights(history: sp.csr_matrix, alpha: float, beta: float, k: int, block_items: int = 2048) -> sp.csr_matrix:
    """The pruned item x item RP3beta matrix of a binary user x item ``history``."""
    p_ui = _transitions(history, alpha)
    p_iu = _transitions(history.T.tocsr(), alpha)
    degree = np.diff(history.tocsc().indptr).astype(np.float32)
    penalty = torch.from_numpy(np.where(degree > 0, np.power(np.maximum(degree, 1.0), -beta), 0.0).astype(np.float32))

    def penalised(walk: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        return walk * penalty[None, :]

    return pruned_product(p_iu, p_ui, k, block_items, penalised)


class RP3beta(ItemSimilarityModel):
    """Scores item j for user u as the sum of the walk weights W_ij over the items i that u interacted with."""

    name = "rp3beta"
    config_class = RP3betaConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        cfg = self.config
        self.history = data.implicit()
        self.similarity = rp3beta_weights(self.history, cfg.alpha, cfg.beta, cfg.k, cfg.block_items)
        self.n_users, self.n_items = self.history.shape
        self.device = options.torch_device
        return self
