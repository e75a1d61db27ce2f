"""Most-popular items: the baseline every model must beat, and the fallback for users no model knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
import torch

from models.base import Config, Interactions, Recommender, TrainOptions


@dataclass(frozen=True)
class PopularityConfig(Config):
    #: Count interactions (False) or sum rating values (True).
    weight_by_rating: bool = False


class Popularity(Recommender):
    """Scores every item by how many users interacted with it; the same ranking for every user."""

    name = "popularity"
    config_class = PopularityConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        matrix = data.matrix if self.config.weight_by_rating else data.implicit()
        counts = np.asarray(matrix.sum(axis=0)).ravel().astype(np.float32)
        self.item_scores = torch.from_numpy(counts)
        self.n_users, self.n_items = data.matrix.shape
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        return self.item_scores.unsqueeze(0).expand(len(users), -1).clone()

    def dot_factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Popularity as a one-factor model (every user 1, every item its count): the shared top-k then walks
        the items from the most popular down and stops past each user's k-th unseen one (``models.topk.topk_dot``)
        instead of writing and sorting a dense row of equal scores per user (12.9 s of the 20M night's evaluation)."""
        return torch.ones((self.n_users, 1), dtype=torch.float32), self.item_scores.unsqueeze(1)
