"""A small seeded data set whose right answer is known, for the model contract and model-specific tests.

Users fall into ``n_groups`` taste groups and items into one block per group plus a few popular items. Every user
rates ``per_user_block`` items of their own block highly, ``per_user_popular`` popular items middling and
``per_user_noise`` items of other blocks poorly (tried and disliked: noise for implicit models, signal for rating
models). One of each user's in-block items is held out: a good model ranks the rest of the user's block first,
so it finds the held-out item in its top 10 (a block has ``block_size`` items), while popularity rarely does.

``item_features`` (title / genres / description, indexed by item id) names the block in its genre words, so
content-based models can pass the same checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.base import Interactions
from models.evaluation import top_items

GENRES = [
    ("Western", "Frontier"),
    ("Horror", "Slasher"),
    ("Musical", "Dance"),
    ("Documentary", "Nature"),
    ("Animation", "Family"),
    ("Noir", "Crime"),
    ("SciFi", "Space"),
    ("Romance", "Period"),
]
THEMES = {
    "Western": "cowboys ride across the desert to a dusty town",
    "Horror": "a masked killer stalks teenagers through a haunted house",
    "Musical": "singers and dancers put on a show on broadway",
    "Documentary": "wildlife filmed across oceans forests and mountains",
    "Animation": "talking animals go on a cartoon adventure",
    "Noir": "a detective chases gangsters through rainy city streets",
    "SciFi": "astronauts pilot a starship to a distant galaxy",
    "Romance": "lovers court each other at a ball in a country manor",
}


def top_items_for_all(model: Any, data: Interactions, k: int = 10) -> np.ndarray:
    """Every user's top-k unseen items (users x k item indices), through the shared top-k."""
    return top_items(model, np.arange(data.n_users), k, data.matrix)


@dataclass
class Synthetic:
    """The training interactions and the known answer."""

    train: Interactions  # ratings without the held-out ones; item_features attached
    holdout_items: np.ndarray  # (n_users,) the held-out in-block item column of each user
    holdout_ratings: np.ndarray  # (n_users,) its rating
    user_group: np.ndarray  # (n_users,) taste group of each user
    item_block: np.ndarray  # (n_items,) block of each item; -1 for the popular items
    n_groups: int

    @property
    def users(self) -> np.ndarray:
        return np.arange(self.train.n_users)

    def hit_rate(self, top_items: np.ndarray) -> float:
        """Share of users whose held-out item is among their recommended items ((n_users, k) columns)."""
        return float((top_items == self.holdout_items[:, None]).any(axis=1).mean())


@cache
def make_synthetic(
    n_groups: int = 4,
    users_per_group: int = 40,
    block_size: int = 15,
    n_popular: int = 6,
    per_user_block: int = 8,
    per_user_popular: int = 2,
    per_user_noise: int = 2,
    seed: int = 0,
) -> Synthetic:
    """Build the data set (cached: treat the result as read-only)."""
    if n_groups > len(GENRES):
        raise ValueError(f"at most {len(GENRES)} groups")
    rng = np.random.default_rng(seed)
    n_users = n_groups * users_per_group
    n_block_items = n_groups * block_size
    n_items = n_block_items + n_popular
    item_block = np.concatenate([np.repeat(np.arange(n_groups), block_size), np.full(n_popular, -1)])
    user_group = np.repeat(np.arange(n_groups), users_per_group)
    popular = np.arange(n_block_items, n_items)
    # A skewed pick of popular items, so popularity has a clear order.
    popular_p = 1.0 / np.arange(1, n_popular + 1)
    popular_p /= popular_p.sum()

    rows, cols, vals, holdout_items, holdout_ratings = [], [], [], [], []
    for user, group in enumerate(user_group):
        block = np.flatnonzero(item_block == group)
        others = np.flatnonzero((item_block >= 0) & (item_block != group))
        liked = rng.choice(block, per_user_block, replace=False)
        middling = rng.choice(popular, per_user_popular, replace=False, p=popular_p)
        disliked = rng.choice(others, per_user_noise, replace=False)
        liked_r = rng.choice([4.0, 4.5, 5.0], per_user_block)
        holdout_items.append(liked[-1])
        holdout_ratings.append(liked_r[-1])
        items = np.concatenate([liked[:-1], middling, disliked])
        ratings = np.concatenate([liked_r[:-1], rng.choice([3.0, 3.5], per_user_popular), rng.choice([1.0, 1.5, 2.0], per_user_noise)])
        rows.extend([user] * len(items))
        cols.extend(items)
        vals.extend(ratings)

    matrix = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(n_users, n_items))
    user_ids = np.array([f"u{u:04d}" for u in range(n_users)], dtype=object)
    item_ids = np.array([f"i{i:04d}" for i in range(n_items)], dtype=object)
    train = Interactions(matrix=matrix, user_ids=user_ids, item_ids=item_ids, item_features=_item_features(item_ids, item_block))
    return Synthetic(
        train=train,
        holdout_items=np.asarray(holdout_items, dtype=np.int64),
        holdout_ratings=np.asarray(holdout_ratings, dtype=np.float32),
        user_group=user_group,
        item_block=item_block,
        n_groups=n_groups,
    )


def _item_features(item_ids: np.ndarray, item_block: np.ndarray) -> pd.DataFrame:
    titles, genres, descriptions = [], [], []
    for n, block in enumerate(item_block):
        if block < 0:
            titles.append(f"Blockbuster {n}")
            genres.append("Drama")
            descriptions.append("a big budget crowd pleaser everyone has seen")
        else:
            main, sub = GENRES[block]
            titles.append(f"{main} Story {n}")
            genres.append(f"{main}|{sub}")
            descriptions.append(f"{THEMES[main]} ({sub.lower()})")
    return pd.DataFrame({"title": titles, "genres": genres, "description": descriptions}, index=pd.Index(item_ids, name="item_id"))
