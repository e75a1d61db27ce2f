"""The latent-taste world behind the sample ratings: a seeded generative model, vectorised with numpy (no Python
loop per rating).

* Items belong to latent **taste clusters**; each cluster has a MovieLens genre (plus a companion genre), an era
  and a centroid in a low-dimensional taste space. An item's vector is its cluster centroid plus noise; its global
  popularity follows a Zipf-like law.
* Users have a taste vector; their preference theta over clusters is a softmax of (taste . centroid), kept to
  their top few clusters. A choice picks a cluster by theta, then an item in it by popularity, so
  P(item | user) ~ popularity(item) x exp(affinity(user, cluster)); a few choices (5%) follow global popularity
  alone. No (user, item) pair is drawn twice. Activity (ratings per user) is log-normal times the length of the
  user's active window, with a floor of 5 ratings and a cap of 35% of the catalogue.
* A rating is ``user bias + item bias + taste . item vector + noise``, standardised to MovieLens-20M's mean (3.55)
  and spread, then rounded to whole stars (demo) or mostly whole, sometimes half stars (benchmark presets).
* Each user is active over a window of the ``days`` (many users from the start, more joining later, so activity
  grows towards the end): a time-based holdout of the most recent ratings is meaningful.

``ratings_arrays`` gives the ratings as numpy arrays; ``jobs.sample.items`` dresses the same catalogue in titles,
genres and descriptions, and ``jobs.sample.data`` writes both out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

#: The 18 MovieLens genres, with roughly how many MovieLens-20M movies carry each (used as cluster weights).
GENRES: dict[str, int] = {
    "Drama": 13344, "Comedy": 8374, "Thriller": 4178, "Romance": 4127, "Action": 3520, "Crime": 2939,
    "Horror": 2611, "Documentary": 2471, "Adventure": 2329, "Sci-Fi": 1743, "Mystery": 1514, "Fantasy": 1412,
    "War": 1194, "Children": 1139, "Musical": 1036, "Animation": 1027, "Western": 676, "Film-Noir": 330,
}  # fmt: skip
_GENRE_NAMES = tuple(GENRES)

# Genres that often appear together with each genre.
_COMPANIONS: dict[str, tuple[str, ...]] = {
    "Action": ("Adventure", "Thriller", "Sci-Fi", "Crime", "War"),
    "Adventure": ("Action", "Fantasy", "Children", "Sci-Fi"),
    "Animation": ("Children", "Comedy", "Fantasy", "Musical"),
    "Children": ("Animation", "Comedy", "Adventure", "Fantasy"),
    "Comedy": ("Romance", "Drama", "Children", "Crime"),
    "Crime": ("Thriller", "Drama", "Mystery", "Film-Noir"),
    "Documentary": ("War", "Musical", "Drama"),
    "Drama": ("Romance", "War", "Crime", "Comedy"),
    "Fantasy": ("Adventure", "Animation", "Children", "Musical"),
    "Film-Noir": ("Crime", "Mystery", "Thriller"),
    "Horror": ("Thriller", "Mystery", "Sci-Fi"),
    "Musical": ("Romance", "Comedy", "Animation"),
    "Mystery": ("Thriller", "Crime", "Film-Noir"),
    "Romance": ("Comedy", "Drama", "Musical"),
    "Sci-Fi": ("Action", "Adventure", "Thriller", "Horror"),
    "Thriller": ("Crime", "Mystery", "Action", "Horror"),
    "War": ("Drama", "Action", "Documentary"),
    "Western": ("Action", "Adventure", "Drama"),
}

# Cluster themes are text (jobs.sample.items._THEMES); the world only draws indexes into them, so it needs their count.
_N_THEMES = 36

_DIM = 8  # latent taste dimensions
_MIN_USER_RATINGS = 5  # every user rates at least this many items (when the totals allow)
_MAX_USER_SHARE = 0.35  # no user rates more than this share of the catalogue
_ZIPF = 1.6  # exponent of the item popularity law
_MAINSTREAM_ZIPF = 1.0  # exponent applied on top of the popularity law for mainstream choices
_MAINSTREAM = 0.05  # share of choices drawn from global popularity rather than the user's taste
_SHARPNESS = 4.0  # how strongly a user's taste vector concentrates them on a few clusters
_SIZE_PULL = 0.3  # how much big clusters (Drama, Comedy) draw everyone
_EXPLORE = 0.02  # share of a user's cluster preference that follows global cluster sizes
_TOP_CLUSTERS = 8  # clusters kept per user (the rest of their preference follows cluster sizes)
# rating ~ user bias + item bias + affinity x (taste . item vector) + noise, then set to this mean and spread.
_RATING_AFFINITY = 0.45
_RATING_NOISE = 0.75
_RATING_MEAN = 3.55
_RATING_SD = 1.0
_WHOLE_STARS = 0.7  # in half-star mode, share of ratings given in whole stars
_CHUNK_CELLS = 1 << 25  # users x items cells per block of users (bounds memory: 5 bytes a cell)
_SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class _Catalog:
    """The item side of the world; item index i has item_id i + 1."""

    cluster: np.ndarray  # item -> cluster (int32)
    popularity: np.ndarray  # item -> Zipf-like weight (float64)
    vectors: np.ndarray  # item -> latent vector (float32, n_items x _DIM)
    bias: np.ndarray  # item -> rating bias (float32)
    year: np.ndarray  # item -> release year (int32)
    centroids: np.ndarray  # cluster -> latent centroid (K x _DIM)
    cluster_share: np.ndarray  # cluster -> share of items (float64)
    cluster_genre: np.ndarray  # cluster -> genre index
    cluster_companion: np.ndarray  # cluster -> companion genre index
    cluster_themes: np.ndarray  # cluster -> theme indexes (K x 4)

    @property
    def n_items(self) -> int:
        return len(self.cluster)

    @property
    def n_clusters(self) -> int:
        return len(self.centroids)


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _allocate(total: int, weights: np.ndarray, cap: float = np.inf) -> np.ndarray:
    """Non-negative integers summing to ``total``, proportional to ``weights``, none above ``cap``."""
    weights = np.asarray(weights, dtype=np.float64)
    lo, hi = 0.0, total / weights.min() + 1.0
    for _ in range(100):  # water-filling: find the scale at which the capped shares add up to total
        mid = (lo + hi) / 2
        if np.minimum(cap, mid * weights).sum() < total:
            lo = mid
        else:
            hi = mid
    share = np.minimum(cap, hi * weights)
    out = np.floor(share).astype(np.int64)
    short = int(total - out.sum())
    if short > 0:
        room = np.where(out < cap, share - out, -1.0)
        out[np.argsort(-room, kind="stable")[:short]] += 1
    elif short < 0:
        out[np.argsort(-(out - share), kind="stable")[: -short]] -= 1
    return out


def _make_catalog(n_items: int, seed: int) -> _Catalog:
    rng = np.random.default_rng([seed, 1])
    n_genres = len(_GENRE_NAMES)
    genre_weight = np.array(list(GENRES.values()), dtype=np.float64)
    genre_weight /= genre_weight.sum()
    n_clusters = max(1, min(max(n_items // 30, n_genres), 96, n_items // 3))
    # Every genre leads at least one cluster (when there are enough); the rest follow genre frequency.
    first = np.arange(min(n_clusters, n_genres))
    extra = rng.choice(n_genres, size=n_clusters - len(first), p=genre_weight)
    cluster_genre = np.concatenate([first, extra]).astype(np.int64)
    companion_lists = [[_GENRE_NAMES.index(c) for c in _COMPANIONS[g]] for g in _GENRE_NAMES]
    cluster_companion = np.array([companion_lists[g][rng.integers(len(companion_lists[g]))] for g in cluster_genre])
    # Cluster sizes: the genre's frequency split over its clusters, with some noise.
    per_genre = np.bincount(cluster_genre, minlength=n_genres)
    share = genre_weight[cluster_genre] / per_genre[cluster_genre] * rng.gamma(4.0, 0.25, n_clusters)
    share /= share.sum()
    floor = min(3, n_items // n_clusters)
    counts = floor + _allocate(n_items - floor * n_clusters, share)
    cluster = rng.permutation(np.repeat(np.arange(n_clusters, dtype=np.int32), counts))
    # Latent space: genre directions; a cluster sits near its genre, pulled towards its companion genre.
    genre_dirs = _normalise(rng.normal(size=(n_genres, _DIM)))
    centroids = _normalise(
        genre_dirs[cluster_genre] + 0.4 * genre_dirs[cluster_companion] + 0.5 * _normalise(rng.normal(size=(n_clusters, _DIM)))
    )
    vectors = (centroids[cluster] + rng.normal(scale=0.35 / math.sqrt(_DIM), size=(n_items, _DIM))).astype(np.float32)
    # Zipf-like popularity over a random ranking of the items.
    rank = rng.permutation(n_items) + 1.0
    popularity = 1.0 / rank**_ZIPF
    log_pop = np.log(popularity)
    bias = (0.25 * (log_pop - log_pop.mean()) / (log_pop.std() + 1e-9) + rng.normal(scale=0.3, size=n_items)).astype(np.float32)
    era = 2023 - 85 * rng.beta(1.3, 3.0, n_clusters)
    year = np.clip(np.rint(era[cluster] + rng.normal(scale=6.0, size=n_items)), 1915, 2025).astype(np.int32)
    themes = np.argsort(rng.random((n_clusters, _N_THEMES)), axis=1)[:, :4]
    return _Catalog(
        cluster=cluster,
        popularity=popularity,
        vectors=vectors,
        bias=bias,
        year=year,
        centroids=centroids,
        cluster_share=np.bincount(cluster, minlength=n_clusters) / n_items,
        cluster_genre=cluster_genre,
        cluster_companion=cluster_companion,
        cluster_themes=themes,
    )


@dataclass(frozen=True)
class _Users:
    taste: np.ndarray  # user -> latent vector (float32, n_users x _DIM)
    top_clusters: np.ndarray  # user -> the _TOP_CLUSTERS clusters they prefer most (n_users x T)
    top_cum: np.ndarray  # user -> cumulative preference over those (n_users x T); the rest goes to any cluster
    counts: np.ndarray  # user -> number of ratings (int64)
    bias: np.ndarray  # user -> rating bias (float32)
    start: np.ndarray  # user -> start of the active window, as a fraction of the period
    end: np.ndarray  # user -> end of the active window, as a fraction of the period


def _make_users(n_users: int, n_ratings: int, catalog: _Catalog, seed: int) -> _Users:
    rng = np.random.default_rng([seed, 2])
    cap = max(1, int(_MAX_USER_SHARE * catalog.n_items))
    if n_ratings > n_users * cap:
        raise ValueError(f"{n_ratings} ratings do not fit {n_users} users x {catalog.n_items} items (max {cap} per user)")
    if n_ratings < n_users:
        raise ValueError(f"{n_ratings} ratings are fewer than {n_users} users: every user needs at least one")
    # Active windows: about half the users are there from the start; the rest join later and later.
    existing = rng.random(n_users) < 0.5
    start = np.where(existing, 0.0, 0.9 * rng.random(n_users) ** 0.7)
    # Most stay to the end; some drift away.
    stays = rng.random(n_users) < 0.7
    end = np.where(stays, 1.0, np.minimum(1.0, start + 0.1 + (0.9 - start).clip(0) * rng.random(n_users)))
    floor = min(_MIN_USER_RATINGS, n_ratings // n_users, cap)
    # Activity: log-normal (MovieLens-20M has mean/median ~2) times the window length, on top of a small
    # floor, capped; so late joiners rate fewer items, and activity grows smoothly over the period.
    activity = rng.lognormal(0.0, 1.2, n_users) * (end - start) ** 0.8
    counts = floor + _allocate(n_ratings - floor * n_users, activity, cap - floor)
    taste = rng.normal(size=(n_users, _DIM)).astype(np.float32)
    # Preference over clusters: softmax of taste . centroid (plus a pull towards big clusters). Only each user's
    # top few clusters are kept; the small remainder (and _EXPLORE) is spread over clusters by size.
    logits = _SHARPNESS * (taste @ catalog.centroids.T.astype(np.float32)) + _SIZE_PULL * np.log(catalog.cluster_share)
    logits -= logits.max(axis=1, keepdims=True)
    theta = np.exp(logits)
    theta /= theta.sum(axis=1, keepdims=True)
    n_top = min(_TOP_CLUSTERS, catalog.n_clusters)
    top = np.argsort(-theta, axis=1)[:, :n_top]
    top_cum = np.cumsum((1 - _EXPLORE) * np.take_along_axis(theta, top, axis=1), axis=1).astype(np.float32)
    bias = rng.normal(scale=0.35, size=n_users).astype(np.float32)
    return _Users(taste=taste, top_clusters=top, top_cum=top_cum, counts=counts, bias=bias, start=start, end=end)


def _alias(weights: np.ndarray, segments: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker alias tables, one per segment (``segments`` = start offsets), for O(1) sampling by weight.

    Within segment [a, b): draw j = a + floor(u * (b - a)), keep j if frac(u * (b - a)) < prob[j], else alias[j].
    """
    prob = np.ones(len(weights))
    alias = np.arange(len(weights))
    bounds = np.r_[segments, len(weights)]
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):  # once per catalogue: a loop per item is fine
        scaled = (weights[a:b] * (b - a) / weights[a:b].sum()).tolist()
        small = [i for i, w in enumerate(scaled) if w < 1.0]
        large = [i for i, w in enumerate(scaled) if w >= 1.0]
        while small and large:
            lo, hi = small.pop(), large.pop()
            prob[a + lo], alias[a + lo] = scaled[lo], a + hi
            scaled[hi] += scaled[lo] - 1.0
            (small if scaled[hi] < 1.0 else large).append(hi)
    return prob, alias


class _Sampler:
    """Draws items for users: a cluster from the user's preferences, then an item by popularity within it."""

    def __init__(self, catalog: _Catalog) -> None:
        self.catalog = catalog
        self.by_cluster = np.argsort(catalog.cluster, kind="stable")
        sizes = np.bincount(catalog.cluster, minlength=catalog.n_clusters)
        self.cluster_start = np.r_[0, np.cumsum(sizes)[:-1]]
        self.cluster_size = sizes
        self.item_alias = _alias(catalog.popularity[self.by_cluster], self.cluster_start)
        self.share_cdf = np.cumsum(catalog.cluster_share) / catalog.cluster_share.sum()
        # Blockbusters: a steeper law over all items; top-up rounds use a flatter one.
        self.mainstream_alias = _alias(catalog.popularity**_MAINSTREAM_ZIPF, np.zeros(1, np.int64))
        self.flat_alias = _alias(catalog.popularity**0.5, np.zeros(1, np.int64))

    @staticmethod
    def _draw(rng: np.random.Generator, table: tuple[np.ndarray, np.ndarray], start: Any, size: Any, n: int) -> np.ndarray:
        prob, alias = table
        scaled = rng.random(n) * size
        slot = np.floor(scaled).astype(np.int64)
        j = start + np.minimum(slot, size - 1)
        return np.where(scaled - slot < prob[j], j, alias[j])

    def model(self, rng: np.random.Generator, users: _Users, global_user: np.ndarray) -> np.ndarray:
        n = len(global_user)
        cum = users.top_cum[global_user]
        slot = (rng.random(n, dtype=np.float32)[:, None] >= cum).sum(axis=1)
        cluster = np.empty(n, dtype=np.int64)
        mine = slot < cum.shape[1]
        cluster[mine] = users.top_clusters[global_user[mine], slot[mine]]
        other = ~mine
        cluster[other] = np.minimum(np.searchsorted(self.share_cdf, rng.random(int(other.sum()))), len(self.share_cdf) - 1)
        pos = self._draw(rng, self.item_alias, self.cluster_start[cluster], self.cluster_size[cluster], n)
        item = self.by_cluster[pos]
        # Some choices follow what everyone watches, whatever the user's taste.
        mainstream = rng.random(n) < _MAINSTREAM
        item[mainstream] = self.global_draw(rng, self.mainstream_alias, int(mainstream.sum()))
        return item

    def global_draw(self, rng: np.random.Generator, table: tuple[np.ndarray, np.ndarray], n: int) -> np.ndarray:
        return self._draw(rng, table, 0, self.catalog.n_items, n)


class _PairSet:
    """The (user, item) pairs taken so far for a block of users, as a dense flag per cell, plus a scratch array
    that finds the first draw of each pair in a batch (``np.minimum.at``: linear time, no sort)."""

    def __init__(self, cells: int) -> None:
        self.taken = np.zeros(cells, dtype=bool)
        self.owner = np.full(cells, np.iinfo(np.int32).max, dtype=np.int32)

    def reset(self, cells: int) -> None:
        self.taken[:cells] = False

    def first_new(self, cell: np.ndarray) -> np.ndarray:
        """Positions (ascending) of the draws whose pair is not taken and not drawn earlier in ``cell``."""
        position = np.flatnonzero(~self.taken[cell]).astype(np.int32)
        candidate = cell[position]
        np.minimum.at(self.owner, candidate, position)
        first = position[self.owner[candidate] == position]
        self.owner[candidate] = np.iinfo(np.int32).max
        return first


def _sample_chunk(
    rng: np.random.Generator, sampler: _Sampler, users: _Users, lo: int, hi: int, pairs: _PairSet
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct items for users lo..hi-1: ``counts[u]`` each. Returns (user, item) arrays (row order: by round)."""
    n_items = sampler.catalog.n_items
    need = users.counts[lo:hi].copy()
    pairs.reset((hi - lo) * n_items)
    done_users: list[np.ndarray] = []
    done_items: list[np.ndarray] = []
    for attempt in range(200):
        if not need.any():
            break
        draws = np.ceil(need * (1.3 if attempt == 0 else 2.0)).astype(np.int64) + (need > 0)
        local = np.repeat(np.arange(len(need)), draws)
        item = sampler.model(rng, users, local + lo)
        if attempt > 0:
            # Top-ups (heavy users who exhausted their clusters): mix in flatter, then uniform, choices.
            explore = rng.random(len(local)) < min(1.0, 0.25 * attempt)
            n_explore = int(explore.sum())
            item[explore] = sampler.global_draw(rng, sampler.flat_alias, n_explore) if attempt < 5 else rng.integers(0, n_items, n_explore)
        # Keep each user's first draws of pairs not taken before, up to what the user still needs.
        cell = local * n_items + item
        fresh = pairs.first_new(cell)
        fresh_user = local[fresh]
        starts = np.r_[0, np.flatnonzero(np.diff(fresh_user)) + 1]
        rank = np.arange(len(fresh)) - np.repeat(starts, np.diff(np.r_[starts, len(fresh)]))
        keep = fresh[rank < need[fresh_user]]
        pairs.taken[cell[keep]] = True
        done_users.append(local[keep])
        done_items.append(item[keep].astype(np.int64))
        need -= np.bincount(local[keep], minlength=len(need))
    if need.any():
        raise RuntimeError("could not draw enough distinct items; is the catalogue too small?")
    return np.concatenate(done_users) + lo, np.concatenate(done_items)


def ratings_arrays(
    n_ratings: int, n_users: int, n_items: int, days: int, end_date: date, seed: int, half_stars: bool
) -> dict[str, np.ndarray]:
    """The ratings as numpy arrays: user_id, item_id (int64, from 1), rating (float64), timestamp (int64 seconds).

    Rows come roughly grouped by user, in no particular time order.
    """
    if min(n_ratings, n_users, n_items, days) < 1:
        raise ValueError("n_ratings, n_users, n_items and days must all be positive")
    catalog = _make_catalog(n_items, seed)
    people = _make_users(n_users, n_ratings, catalog, seed)
    sampler = _Sampler(catalog)
    first_second = int(datetime.combine(end_date - timedelta(days=days - 1), datetime.min.time(), UTC).timestamp())
    span = days * _SECONDS_PER_DAY
    out = {
        "user_id": np.empty(n_ratings, np.int64),
        "item_id": np.empty(n_ratings, np.int64),
        "rating": np.empty(n_ratings, np.float64),
        "timestamp": np.empty(n_ratings, np.int64),
    }
    # Users in blocks of at most _CHUNK_CELLS user x item cells, each block with its own seeded stream.
    block = max(1, min(n_users, _CHUNK_CELLS // n_items))
    pairs = _PairSet(block * n_items)
    row = 0
    for index, lo in enumerate(range(0, n_users, block)):
        rng = np.random.default_rng([seed, 3, index])
        user, item = _sample_chunk(rng, sampler, people, lo, min(lo + block, n_users), pairs)
        affinity = np.einsum("ij,ij->i", people.taste[user], catalog.vectors[item])
        raw = people.bias[user] + catalog.bias[item] + _RATING_AFFINITY * affinity
        raw += rng.normal(scale=_RATING_NOISE, size=len(user)).astype(np.float32)
        # Uniform within each user's window; more users are active late in the period.
        when = people.start[user] + (people.end[user] - people.start[user]) * rng.random(len(user))
        rows = slice(row, row + len(user))
        out["user_id"][rows] = user + 1
        out["item_id"][rows] = item + 1
        out["rating"][rows] = raw
        out["timestamp"][rows] = first_second + np.minimum((when * span).astype(np.int64), span - 1)
        row += len(user)
    assert row == n_ratings
    # Ratings: the raw scores standardised to MovieLens-20M's mean and spread, then rounded to stars. In half-star
    # mode most people still give whole stars, as on MovieLens.
    raw = out["rating"]
    raw -= raw.mean()
    raw *= _RATING_SD / raw.std()
    raw += _RATING_MEAN
    rng = np.random.default_rng([seed, 5])
    if half_stars:
        whole = rng.random(n_ratings) < _WHOLE_STARS
        out["rating"] = np.clip(np.where(whole, np.rint(raw), np.rint(raw * 2) / 2), 0.5, 5.0)
    else:
        out["rating"] = np.clip(np.rint(raw), 1.0, 5.0)
    return out
