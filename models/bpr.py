"""Bayesian personalised ranking (Rendle et al. 2009): matrix factorisation trained on sampled item pairs.

Each epoch visits every interaction (u, i) once in a seeded random order and pairs it with a uniformly drawn item
j the user has not interacted with; the loss is -log sigmoid(s_ui - s_uj) with s_ui = p_u . q_i + b_i, plus an L2
penalty on the vectors of each triple. A mini-batch updates only the rows it touches (lazy Adam or plain SGD,
``models.row_optim``), which keeps an epoch linear in the number of interactions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from models.base import Config, Interactions, Recommender, TrainOptions
from models.ials import factor_cosine, unit_rows
from models.row_optim import RowOptimizer

OPTIMIZERS = ("adam", "sgd")


@dataclass(frozen=True)
class BPRConfig(Config):
    #: Latent factors per user and per item.
    factors: int = 64
    #: Learning rate: Adam's step size, or SGD's rate per triple (its batch step is lr * batch_size).
    lr: float = 0.01
    #: L2 penalty (per-triple weight decay) on the user, positive and negative item vectors and item biases.
    reg: float = 1e-3
    #: Passes over the interactions (one sampled triple per interaction each).
    epochs: int = 20
    #: Triples per mini-batch.
    batch_size: int = 4096
    #: "adam" (lazy Adam on the rows a batch touches) or "sgd".
    optimizer: str = "adam"
    #: Learn a per-item bias (popularity) beside the factors.
    item_bias: bool = True
    #: Redraws of negatives that the user has interacted with (0: keep whatever was drawn).
    negative_retries: int = 3
    #: Standard deviation of the initial factors.
    init_std: float = 0.1

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, not {self.optimizer!r}")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "factors": trial.suggest_int("factors", 16, 256, log=True),
            "lr": trial.suggest_float("lr", 1e-3, 0.1, log=True),
            "reg": trial.suggest_float("reg", 1e-6, 1e-1, log=True),
            "epochs": trial.suggest_int("epochs", 5, 50),
        }


def seen_keys(seen: sp.csr_matrix) -> np.ndarray:
    """Sorted int64 keys row * n_items + col of the nonzeros of a CSR matrix with sorted indices."""
    rows = np.repeat(np.arange(seen.shape[0], dtype=np.int64), np.diff(seen.indptr))
    return rows * seen.shape[1] + seen.indices


def sample_negatives(
    rng: np.random.Generator, users: np.ndarray, keys: np.ndarray, n_items: int, retries: int
) -> np.ndarray:
    """Uniform random items for ``users``, redrawn up to ``retries`` times where the user has seen them.

    Membership is one binary search over ``keys`` (see ``seen_keys``).
    """
    items = rng.integers(0, n_items, len(users))
    redo = np.arange(len(users))
    for _ in range(retries + 1):
        probe = users[redo] * n_items + items[redo]
        pos = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
        redo = redo[keys[pos] == probe] if len(keys) else redo[:0]
        if len(redo) == 0:
            break
        items[redo] = rng.integers(0, n_items, len(redo))
    return items


class BPR(Recommender):
    """Pairwise-ranking matrix factorisation; scores are p_u . q_i + b_i."""

    name = "bpr"
    config_class = BPRConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        cfg = self.config
        device = options.torch_device
        seen = data.implicit()
        n_users, n_items = seen.shape
        rng = options.generator()
        gen = torch.Generator().manual_seed(options.seed)
        self.user_factors = (torch.randn(n_users, cfg.factors, generator=gen) * cfg.init_std).to(device)
        self.item_factors = (torch.randn(n_items, cfg.factors, generator=gen) * cfg.init_std).to(device)
        self.item_bias = torch.zeros(n_items, device=device)
        # Factors and bias of an item sit in one table, so a batch looks items up once.
        items_table = torch.cat([self.item_factors, self.item_bias[:, None]], dim=1)
        # The loss is a batch mean: SGD's step is scaled so that ``lr`` is a per-triple rate (as in implicit).
        lr = cfg.lr * cfg.batch_size if cfg.optimizer == "sgd" else cfg.lr
        optim = RowOptimizer([self.user_factors, items_table], lr, cfg.optimizer)

        keys = seen_keys(seen)
        rows, cols = keys // n_items, keys % n_items
        self.n_users, self.n_items, self.device = n_users, n_items, device
        self.epochs_run = 0
        for epoch in range(1, cfg.epochs + 1):
            order = rng.permutation(len(rows))
            users, pos = rows[order], cols[order]
            neg = sample_negatives(rng, users, keys, n_items, cfg.negative_retries)
            total, batches = torch.zeros((), device=device), 0
            for lo in range(0, len(order), cfg.batch_size):
                u = torch.from_numpy(users[lo : lo + cfg.batch_size]).to(device)
                i = torch.from_numpy(pos[lo : lo + cfg.batch_size]).to(device)
                j = torch.from_numpy(neg[lo : lo + cfg.batch_size]).to(device)
                pu = optim.lookup(0, u)
                qi, qj = optim.lookup(1, torch.cat([i, j])).split(len(i))
                diff = (pu * (qi[:, :-1] - qj[:, :-1])).sum(dim=1)
                penalty = (pu * pu).sum(dim=1) + (qi[:, :-1] ** 2 + qj[:, :-1] ** 2).sum(dim=1)
                if cfg.item_bias:
                    diff = diff + qi[:, -1] - qj[:, -1]
                    penalty = penalty + qi[:, -1] ** 2 + qj[:, -1] ** 2
                # softplus(-d) = -log sigmoid(d); torch's log_sigmoid kernel is far slower on the CPU for small batches.
                loss = nn.functional.softplus(-diff).mean() + cfg.reg * penalty.mean()
                loss.backward()
                optim.step()
                total += loss.detach()
                batches += 1
            self.item_factors, self.item_bias = items_table[:, :-1], items_table[:, -1]
            self.epochs_run = epoch
            if options.epoch_done(self, epoch, float(total) / max(batches, 1)):
                break
        self.item_factors, self.item_bias = self.item_factors.contiguous(), self.item_bias.contiguous()
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        idx = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        return self.user_factors[idx] @ self.item_factors.T + self.item_bias[None, :]

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        return factor_cosine(self.item_factors, items)

    def unit_item_vectors(self) -> torch.Tensor:
        return unit_rows(self.item_factors)
