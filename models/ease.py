"""EASE (Steck, 2019): a closed-form item-item linear autoencoder, strong on top-N for modest catalogues.

B = I - P / diag(P) with P = (X^T X + Lambda)^-1 and diag(B) = 0; a user's scores are x_u B. Lambda = lambda I, or
with ``dropout`` p > 0 the emphasised-denoising regulariser of EDLAE (Steck, "Autoencoders that don't overfit
towards the identity", NeurIPS 2020): Lambda = lambda I + p / (1 - p) diag(X^T X), the closed form of training the
same diagonal-free model on inputs with each item dropped with probability p. A popular item is then penalised in
proportion to its count instead of by one lambda for all.

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
    #: EDLAE's dropout probability p in [0, 1): adds p / (1 - p) times each item's own count to its
    #: regularisation (0: plain EASE).
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout!r}")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {"regularization": trial.suggest_float("regularization", 10.0, 5000.0, log=True),
                "dropout": trial.suggest_float("dropout", 0.0, 0.9)}


def gram_matrix(x: sp.csr_matrix, block: int = BLOCK) -> np.ndarray:
    """X^T X as a dense float32 (items x items) array, one block of item columns at a time."""
    n = x.shape[1]
    xt, xc = x.T.tocsr(), x.tocsc()
    gram = np.empty((n, n), dtype=np.float32)
    for lo in range(0, n, block):
        hi = min(lo + block, n)
        gram[:, lo:hi] = (xt @ xc[:, lo:hi]).toarray()
    return gram


def ease_weights(gram: np.ndarray, regularization: float, device: torch.device, dropout: float = 0.0) -> torch.Tensor:
    """B = I - P / diag(P), P = (gram + Lambda)^-1, diagonal 0, computed in ``gram``'s own memory on the CPU;
    Lambda = lambda I + dropout / (1 - dropout) diag(gram).

    (gram + lambda I) is symmetric positive definite: a Cholesky factor and its inverse (torch's LAPACK, written
    over the input) take half the work of a general inverse. torch needs one work buffer of the same size, so the
    peak is two n_items^2 matrices. (scipy's bundled LAPACK would need none, but its OpenBLAS crashes past 2^31
    bytes: 23k items.)
    """
    a = torch.from_numpy(gram).to(device)
    if dropout > 0.0:  # G_ii + p / (1 - p) G_ii = G_ii / (1 - p)
        a.diagonal().div_(1.0 - dropout)
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
        self.weights = ease_weights(gram_matrix(x), self.config.regularization, device, self.config.dropout)
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
