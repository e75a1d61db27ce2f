"""Offline evaluation shared by every model: the time-based holdout and the metric summary.

The holdout is temporal, in one of two scopes. ``global``: the most recent ``fraction`` of all interactions,
as tomorrow's ratings would be. ``user``: each user's own most recent ``fraction`` (at least one, never all),
for data where users arrive in bursts and the latest days hold few of them (MovieLens-100K: 85 of 943 users).
Held-out rows of users or items with no earlier interaction are dropped from the test set (no model can score
them; the popularity fallback serves such users in production).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models import metrics
from models.base import Interactions, Recommender
from models.topk import recommend


@dataclass
class Split:
    train: Interactions
    test: sp.csr_matrix  # same shape as train.matrix; the held-out interactions with their ratings
    cut_at: float | None  # the timestamp (epoch seconds) where the holdout begins

    @property
    def test_users(self) -> np.ndarray:
        return np.flatnonzero(np.diff(self.test.indptr) > 0)


def temporal_split(data: Interactions, rated_at: np.ndarray, fraction: float, scope: str = "global",
                   fold: int = 0) -> Split:
    """Hold out the most recent ``fraction`` of interactions, overall or per user. ``rated_at`` follows matrix.data.

    ``fold`` k > 0 moves the window k fractions back in time (rolling origin): the model trains on what came
    before the window and is tested on the window; what came after it is left out of both.
    """
    matrix = data.matrix
    if len(rated_at) != matrix.nnz:
        raise ValueError("rated_at must have one timestamp per stored interaction")
    if scope not in ("global", "user"):
        raise ValueError(f"holdout scope must be 'global' or 'user', not {scope!r}")
    if fraction <= 0 or matrix.nnz == 0:
        return Split(train=data, test=sp.csr_matrix(matrix.shape, dtype=np.float32), cut_at=None)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    if scope == "user":
        held, later = _latest_per_user(matrix, rows, rated_at, fraction, fold)
        cut = None
    else:
        cut = float(np.quantile(rated_at, max(1.0 - (fold + 1) * fraction, 0.0)))
        end = float(np.quantile(rated_at, 1.0 - fold * fraction)) if fold else np.inf
        later = rated_at >= end if fold else np.zeros(len(rated_at), dtype=bool)
        held = (rated_at >= cut) & ~later
        if held.all():  # all at one instant: nothing earlier to learn from, so no holdout
            held[:] = False
    before = ~held & ~later
    train_coo = (matrix.data[before], (rows[before], matrix.indices[before]))
    train = sp.csr_matrix(train_coo, shape=matrix.shape, dtype=np.float32)
    known_user = np.diff(train.indptr) > 0
    known_item = np.bincount(train.indices, minlength=matrix.shape[1]) > 0
    keep = held & known_user[rows] & known_item[matrix.indices]
    test = sp.csr_matrix((matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape, dtype=np.float32)
    train_data = Interactions(matrix=train, user_ids=data.user_ids, item_ids=data.item_ids, item_features=data.item_features)
    return Split(train=train_data, test=test, cut_at=cut)


def _latest_per_user(matrix: sp.csr_matrix, rows: np.ndarray, rated_at: np.ndarray, fraction: float,
                     fold: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Masks (held, later): each user's window of m = round(fraction x n) interactions (1 <= m <= n - 1; none
    for n = 1), ``fold`` windows back from the most recent, and the interactions newer than the window.

    A user's earliest interaction is never held. Interactions at the same instant have no order, so ties break
    by a hash of (user, item): arbitrary but the same on every run. Breaking them by item index would hold out
    the highest ids, which are not a random sample (ids follow catalogue age), and MovieLens-100K has 68% of
    its ratings tied with another of the same user's.
    """
    counts = np.diff(matrix.indptr)
    order = np.lexsort((_pair_hash(rows, matrix.indices), -rated_at, rows))  # per user, newest first
    rank_in_user = np.arange(len(order)) - np.repeat(matrix.indptr[:-1], counts)
    n_held = np.clip(np.rint(fraction * counts), 1, np.maximum(counts - 1, 0)).astype(np.int64)
    lo, hi = np.repeat(n_held * fold, counts), np.repeat(n_held * (fold + 1), counts)
    earliest = rank_in_user == np.repeat(counts - 1, counts)
    held, later = np.zeros(len(order), dtype=bool), np.zeros(len(order), dtype=bool)
    held[order] = (rank_in_user >= lo) & (rank_in_user < hi) & ~earliest
    later[order] = rank_in_user < lo
    return held, later


def _pair_hash(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A well-mixed uint64 per (row, col) (splitmix64's finaliser): a fixed pseudo-random order of pairs."""
    x = rows.astype(np.uint64) << np.uint64(32) | cols.astype(np.uint64)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def top_items(model: Recommender, users: np.ndarray, k: int, history: sp.csr_matrix, chunk_users: int = 2048) -> np.ndarray:
    """The (users x k) item indices of the model's top-k unseen items, -1 padded."""
    parts = [top.items for top in recommend(model, users, k, history, chunk_users)]
    if not parts:
        return np.empty((0, k), dtype=np.int64)
    out = np.concatenate(parts)
    if out.shape[1] < k:  # a catalogue smaller than k
        out = np.pad(out, ((0, 0), (0, k - out.shape[1])), constant_values=-1)
    return out


def evaluate(
    model: Recommender,
    split: Split,
    cutoffs: tuple[int, ...] = (10, 20, 50),
    chunk_users: int = 2048,
    ap_denominator: str = "min",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-user measurements, summary rows of metric/k/value) of ``model`` trained on ``split.train``."""
    users = split.test_users
    k_max = max(cutoffs)
    recommended = top_items(model, users, k_max, split.train.matrix, chunk_users)
    hits = metrics.hit_matrix(users, recommended, split.test)
    n_relevant = np.diff(split.test.indptr)[users]
    per_user = {"user_index": users, "n_relevant": n_relevant}
    summary: list[dict] = []
    for k in cutoffs:
        for name, values in (
            ("precision", metrics.precision_at_k(hits, k)),
            ("recall", metrics.recall_at_k(hits, n_relevant, k)),
            ("ndcg", metrics.ndcg_at_k(hits, n_relevant, k)),
            ("map", metrics.map_at_k(hits, n_relevant, k, ap_denominator)),
        ):
            per_user[f"{name}@{k}"] = values
            summary.append({"metric": name, "k": k, "value": float(values.mean()) if len(values) else float("nan")})
        summary.append({"metric": "coverage", "k": k, "value": metrics.coverage_at_k(recommended, split.train.n_items, k)})
    if model.predicts_ratings and split.test.nnz:
        coo = split.test.tocoo()
        predicted = model.predict(coo.row.astype(np.int64), coo.col.astype(np.int64))
        summary.append({"metric": "rmse", "k": None, "value": metrics.rmse(predicted, coo.data)})
        summary.append({"metric": "mae", "k": None, "value": metrics.mae(predicted, coo.data)})
    summary.append({"metric": "test_users", "k": None, "value": float(len(users))})
    return pd.DataFrame(per_user), pd.DataFrame(summary)


def metric_value(summary: pd.DataFrame, key: str) -> float:
    """The value of ``'ndcg@10'``-style ``key`` in a summary frame."""
    name, k = metrics.parse_metric(key)
    rows = summary[(summary["metric"] == name) & ((summary["k"] == k) if k is not None else summary["k"].isna())]
    if rows.empty:
        raise KeyError(f"metric {key} not in the evaluation summary")
    return float(rows["value"].iloc[0])
