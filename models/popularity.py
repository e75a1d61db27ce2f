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
