"""EASE (Steck, 2019): a closed-form item-item linear autoencoder, strong on top-N for modest catalogues.

B = I - P / diag(P) with P = (X^T X + lambda I)^-1 and diag(B) = 0; a user's scores are x_u B.
Memory is n_items^2 floats (27k items: 2.9 GB), so very large catalogues should use iALS instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import torch

from models.base import Config, Interactions, Recommender, TrainOptions, csr_to_torch


@dataclass(frozen=True)
class EASEConfig(Config):
    #: L2 regularisation of the item-item weights (Steck recommends hundreds to thousands).
    regularization: float = 250.0

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {"regularization": trial.suggest_float("regularization", 10.0, 5000.0, log=True)}


class EASE(Recommender):
    name = "ease"
    config_class = EASEConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        device = options.torch_device
        x = data.implicit()
        gram = torch.from_numpy((x.T @ x).toarray().astype(np.float32)).to(device)
        gram.diagonal().add_(self.config.regularization)
        p = torch.linalg.inv(gram)
        b = -p / p.diagonal().unsqueeze(0)
        b.diagonal().zero_()
        self.weights = b
        self.history = x  # scoring needs each user's row of X
        self.n_users, self.n_items = x.shape
        self.device = device
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        return csr_to_torch(self.history[users], self.device) @ self.weights

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        # Column j of B says how much item j is predicted from each item; use the symmetric view.
        idx = torch.from_numpy(np.asarray(items, dtype=np.int64)).to(self.device)
        return (self.weights[idx] + self.weights[:, idx].T) / 2
