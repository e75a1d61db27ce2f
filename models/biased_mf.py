"""Biased matrix factorisation for explicit ratings (Koren, Bell & Volinsky 2009; scikit-surprise's SVD), ranked
with an exposure model.

The predicted rating is r_ui = mu + b_u + b_i + p_u . q_i, mu the global mean. Training minimises the squared
error on the observed ratings plus an L2 penalty on b_u, b_i, p_u, q_i of each rating (Surprise's objective), by
mini-batch lazy Adam (``models.row_optim``) in a seeded order. ``predict`` gathers single (user, item)
predictions for RMSE / MAE without building the users x items matrix.

Ranking by r_ui alone puts first the obscure items a few people rated highly: on MovieLens-100K it scores a
third of popularity's nDCG@10. A model of observed ratings never learns which items a user rates at all, the
strongest signal for top-N (Cremonesi et al. 2010; Steck 2010). So by default the model also fits an exposure
model, implicit ALS on which pairs are rated (``models.ials``, Hu et al. 2008), and ``score`` ranks by the
expected rating with an unrated item counted as 0: P(rated) x r_ui, P(rated) the exposure score capped at 1
(iALS fits it towards 1 for rated pairs, 0 for the rest; ``scale_positive`` keeps non-positive ones in order,
below every positive one). ``exposure = False`` gives Surprise's SVD,
ranked by r_ui. Measured: ``make bench-quality``, docs/benchmarks.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import torch

from models.base import Config, Interactions, Recommender, TrainOptions, scale_positive
from models.ials import IALS, factor_cosine, unit_rows
from models.row_optim import RowOptimizer


@dataclass(frozen=True)
class BiasedMFConfig(Config):
    #: Latent factors per user and per item.
    factors: int = 64
    #: Learning rate of the (lazy) Adam optimiser.
    lr: float = 0.01
    #: L2 penalty on the biases and factors of each rating's user and item (Surprise's reg_all).
    reg: float = 0.02
    #: Passes over the ratings.
    epochs: int = 20
    #: Ratings per mini-batch.
    batch_size: int = 4096
    #: Standard deviation of the initial factors (Surprise: 0.1).
    init_std: float = 0.1
    #: Rank by P(rated) x predicted rating, P(rated) from an implicit ALS exposure model of the same ratings;
    #: False ranks by predicted rating alone, as Surprise's SVD does.
    exposure: bool = True
    #: Latent factors of the exposure model.
    exposure_factors: int = 64
    #: L2 regularisation of the exposure model (iALS's lambda).
    exposure_regularization: float = 10.0
    #: Confidence of a rated pair in the exposure model: 1 + exposure_alpha (every rating counts, whatever its value).
    exposure_alpha: float = 2.0
    #: ALS passes of the exposure model.
    exposure_iterations: int = 15

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "factors": trial.suggest_int("factors", 8, 256, log=True),
            "lr": trial.suggest_float("lr", 1e-3, 0.1, log=True),
            "reg": trial.suggest_float("reg", 1e-4, 1.0, log=True),
            "epochs": trial.suggest_int("epochs", 5, 50),
            "exposure_regularization": trial.suggest_float("exposure_regularization", 0.1, 100.0, log=True),
            "exposure_alpha": trial.suggest_float("exposure_alpha", 0.5, 50.0, log=True),
        }


class BiasedMF(Recommender):
    """Rating prediction by biased matrix factorisation; higher predicted rating ranks higher."""

    name = "biased_mf"
    config_class = BiasedMFConfig
    predicts_ratings = True

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        cfg = self.config
        device = options.torch_device
        matrix = data.matrix
        n_users, n_items = matrix.shape
        rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(matrix.indptr))
        cols = matrix.indices.astype(np.int64)
        ratings = matrix.data.astype(np.float32)
        mean = float(ratings.mean()) if len(ratings) else 0.0

        # The exposure model first: it is closed-form and quick, and per-epoch validation (pruning) scores
        # the model as it will rank.
        self.exposure_model = None
        if cfg.exposure:
            self.exposure_model = IALS(
                factors=cfg.exposure_factors, regularization=cfg.exposure_regularization, alpha=cfg.exposure_alpha,
                iterations=cfg.exposure_iterations,
            ).fit(data, TrainOptions(seed=options.seed, device=options.device))

        rng = options.generator()
        gen = torch.Generator().manual_seed(options.seed)
        # One table per side: factors, then the bias in the last column, so a batch looks each side up once.
        users_table = torch.cat([torch.randn(n_users, cfg.factors, generator=gen) * cfg.init_std, torch.zeros(n_users, 1)], 1)
        items_table = torch.cat([torch.randn(n_items, cfg.factors, generator=gen) * cfg.init_std, torch.zeros(n_items, 1)], 1)
        users_table, items_table = users_table.to(device), items_table.to(device)
        optim = RowOptimizer([users_table, items_table], cfg.lr, "adam")

        self.global_mean = mean
        self.n_users, self.n_items, self.device = n_users, n_items, device
        self.epochs_run = 0
        for epoch in range(1, cfg.epochs + 1):
            order = rng.permutation(len(ratings))
            squared = torch.zeros((), device=device)
            for lo in range(0, len(order), cfg.batch_size):
                batch = order[lo : lo + cfg.batch_size]
                u = torch.from_numpy(rows[batch]).to(device)
                i = torch.from_numpy(cols[batch]).to(device)
                r = torch.from_numpy(ratings[batch]).to(device)
                user, item = optim.lookup(0, u), optim.lookup(1, i)
                pu, bu, qi, bi = user[:, :-1], user[:, -1], item[:, :-1], item[:, -1]
                error = r - (mean + bu + bi + (pu * qi).sum(dim=1))
                penalty = bu * bu + bi * bi + (pu * pu).sum(dim=1) + (qi * qi).sum(dim=1)
                loss = (error * error).mean() + cfg.reg * penalty.mean()
                loss.backward()
                optim.step()
                squared += (error.detach() ** 2).sum()
            self._export(users_table, items_table)
            self.epochs_run = epoch
            # The reported loss is the epoch's training RMSE (before each batch's update).
            if options.epoch_done(self, epoch, (float(squared) / max(len(ratings), 1)) ** 0.5):
                break
        self._export(users_table, items_table)
        return self

    def _export(self, users_table: torch.Tensor, items_table: torch.Tensor) -> None:
        """Split the tables into contiguous factors and biases (small pickles, fast scoring)."""
        self.user_factors, self.user_bias = users_table[:, :-1].contiguous(), users_table[:, -1].contiguous()
        self.item_factors, self.item_bias = items_table[:, :-1].contiguous(), items_table[:, -1].contiguous()

    def to(self, device: torch.device) -> Self:
        super().to(device)
        if self.exposure_model is not None:  # a component inside: its tensors move with ours
            self.exposure_model.to(device)
        return self

    def predicted_ratings(self, users: np.ndarray) -> torch.Tensor:
        """r_ui for ``users`` x every item."""
        idx = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        base = self.global_mean + self.user_bias[idx, None] + self.item_bias[None, :]
        return torch.addmm(base, self.user_factors[idx], self.item_factors.T)

    def score(self, users: np.ndarray) -> torch.Tensor:
        ratings = self.predicted_ratings(users)
        if self.exposure_model is None:
            return ratings
        return scale_positive(self.exposure_model.score(users).clamp_(max=1.0), ratings)

    def predict(self, users: np.ndarray, items: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
        """Predicted ratings of (user, item) pairs, gathered pair by pair (no users x items matrix)."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        out = np.empty(len(users), dtype=np.float32)
        with torch.inference_mode():
            for lo in range(0, len(users), chunk):
                u = torch.from_numpy(users[lo : lo + chunk].copy()).to(self.device)  # (read-only inputs)
                i = torch.from_numpy(items[lo : lo + chunk].copy()).to(self.device)
                pred = self.global_mean + self.user_bias[u] + self.item_bias[i]
                pred = pred + (self.user_factors[u] * self.item_factors[i]).sum(dim=1)
                out[lo : lo + chunk] = pred.cpu().numpy()
        return out

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        # Rated by the same people is what "similar" means to a user: the exposure factors, when there are any.
        if self.exposure_model is not None:
            return self.exposure_model.similar_items(items)
        return factor_cosine(self.item_factors, items)

    def unit_item_vectors(self) -> torch.Tensor:
        # The vectors of whichever view ``similar_items`` uses.
        if self.exposure_model is not None:
            return self.exposure_model.unit_item_vectors()
        return unit_rows(self.item_factors)
