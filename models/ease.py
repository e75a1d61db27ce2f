"""EASE (Steck, 2019): a closed-form item-item linear autoencoder, strong on top-N for modest catalogues.

B = I - P / diag(P) with P = (X^T X + lambda I)^-1 and diag(B) = 0; a user's scores are x_u B.

Memory is two n_items^2 float32 matrices at the peak (27k items: 5.8 GB): the Gram matrix is filled a block of
item columns at a time (never a sparse n^2 temporary, never float64), then factored and inverted in place as the
symmetric positive definite matrix it is (Cholesky: half the work of a general inverse). Very large catalogues
should use iALS instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch

from models.base import Config, Interactions, Recommender, TrainOptions, csr_to_torch

#: Item columns of the Gram matrix computed at once.
BLOCK = 2048


@dataclass(frozen=True)
class EASEConfig(Config):
    #: L2 regularisation of the item-item weights (Steck recommends hundreds to thousands).
    regularization: float = 250.0

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {"regularization": trial.suggest_float("regularization", 10.0, 5000.0, log=True)}


def gram_matrix(x: sp.csr_matrix, block: int = BLOCK) -> np.ndarray:
    """X^T X as a dense float32 (items x items) array, one block of item columns at a time."""
    n = x.shape[1]
    xt, xc = x.T.tocsr(), x.tocsc()
    gram = np.empty((n, n), dtype=np.float32)
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        gram[:, lo:hi] = (xt @ xc[:, lo:hi]).toarray()
    return gram


def ease_weights(gram: np.ndarray, regularization: float, device: torch.device) -> torch.Tensor:
    """B = I - P / diag(P), P = (gram + lambda I)^-1, diagonal 0, computed in ``gram``'s own memory on the CPU.

    (gram + lambda I) is symmetric positive definite: a Cholesky factor and its inverse (torch's LAPACK, written
    over the input) take half the work of a general inverse. torch needs one work buffer of the same size, so the
    peak is two n_items^2 matrices. (scipy's bundled LAPACK would need none, but its OpenBLAS crashes past 2^31
    bytes: 23k items.)
    """
    a = torch.from_numpy(gram).to(device)
    a.diagonal().add_(regularization)
    info = torch.zeros((), dtype=torch.int32, device=device)
    torch.linalg.cholesky_ex(a, out=(a, info))
    if int(info) != 0:
        raise np.linalg.LinAlgError(f"Cholesky factorisation failed (info {int(info)}): raise the regularization")
    torch.cholesky_inverse(a, out=a)
    a.div_(-a.diagonal().clone().unsqueeze(0))
    a.diagonal().zero_()
    return a


class EASE(Recommender):
    name = "ease"
    config_class = EASEConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        device = options.torch_device
        x = data.implicit()
        self.weights = ease_weights(gram_matrix(x), self.config.regularization, device)
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
