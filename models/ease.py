"""EASE (Steck, 2019): a closed-form item-item linear autoencoder, strong on top-N for modest catalogues.

B = I - P / diag(P) with P = (X^T X + lambda I)^-1 and diag(B) = 0; a user's scores are x_u B.

Memory is one n_items^2 float32 matrix (27k items: 2.9 GB), reused from start to end: the Gram matrix is filled
a block of item columns at a time (never a sparse n^2 temporary, never float64), then factored and inverted in
place as the symmetric positive definite matrix it is (LAPACK's Cholesky spotrf + spotri: half the work of a
general inverse, and no second n^2 buffer). On CUDA the same runs with torch's Cholesky. Very large catalogues
should use iALS instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch
from scipy.linalg import lapack

from models.base import Config, Interactions, Recommender, TrainOptions, csr_to_torch

#: Item columns of the Gram matrix computed at once, and rows mirrored at once after the inverse.
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


def _inverse_in_place(a: np.ndarray) -> np.ndarray:
    """The inverse of symmetric positive definite ``a`` (C-contiguous float32), computed in ``a``'s own memory."""
    upper = a.T  # F-contiguous, and the same matrix: LAPACK works on it in place
    factor, info = lapack.spotrf(upper, lower=0, clean=0, overwrite_a=1)
    if info != 0 or not np.shares_memory(factor, a):
        raise np.linalg.LinAlgError(f"Cholesky factorisation failed (info {info}): raise the regularization")
    inverse, info = lapack.spotri(factor, lower=0, overwrite_c=1)
    if info != 0 or not np.shares_memory(inverse, a):
        raise np.linalg.LinAlgError(f"inverse from the Cholesky factor failed (info {info})")
    # spotri filled the upper triangle of the F-ordered view, which is the lower one of ``a``: mirror it.
    n = len(a)
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        a[lo:hi, hi:] = a[hi:, lo:hi].T
        square = a[lo:hi, lo:hi]
        a[lo:hi, lo:hi] = np.tril(square) + np.tril(square, -1).T
    return a


def ease_weights(gram: np.ndarray, regularization: float, device: torch.device) -> torch.Tensor:
    """B = I - P / diag(P), P = (gram + lambda I)^-1, diagonal 0; ``gram`` is overwritten (on the CPU)."""
    gram[np.diag_indices(len(gram))] += regularization
    if device.type == "cpu":
        p = _inverse_in_place(gram)
        p /= -np.diag(p).copy()[None, :]
        p[np.diag_indices(len(p))] = 0.0
        return torch.from_numpy(p)
    a = torch.from_numpy(gram).to(device)
    p = torch.cholesky_inverse(torch.linalg.cholesky(a))
    b = -p / p.diagonal().unsqueeze(0)
    b.diagonal().zero_()
    return b


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
