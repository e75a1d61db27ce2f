"""Offline evaluation shared by every model: each holdout user's measurements and the metric summary.

Besides accuracy, each cutoff reports intra-list diversity (``ild``, on item embeddings of the training matrix,
``metrics.item_vectors``, the same for every model) and ``novelty`` (items' self-information from their
training popularity). The holdouts themselves are ``models.splits``.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models import metrics
from models.base import Recommender
from models.splits import Split
from models.topk import recommend


def top_items(model: Recommender, users: np.ndarray, k: int, history: sp.csr_matrix, chunk_users: int = 2048) -> np.ndarray:
    """The (users x k) item indices of the model's top-k unseen items, -1 padded."""
    parts = [top.items for top in recommend(model, users, k, history, chunk_users)]
    if not parts:
        return np.empty((0, k), dtype=np.int64)
    out = np.concatenate(parts)
    if out.shape[1] < k:  # a catalogue smaller than k
        out = np.pad(out, ((0, 0), (0, k - out.shape[1])), constant_values=-1)
    return out


#: Item embeddings of recent training matrices, by id (checked against a weak reference): tuning evaluates
#: every trial on the same splits, and the SVD would otherwise be repeated each time.
_VECTORS: dict[int, tuple[weakref.ref, np.ndarray]] = {}
_VECTORS_KEPT = 8


def train_item_vectors(matrix: sp.csr_matrix) -> np.ndarray:
    """``metrics.item_vectors(matrix)``, reused while the same matrix object is alive (treat it as read-only)."""
    hit = _VECTORS.get(id(matrix))
    if hit is not None and hit[0]() is matrix:
        return hit[1]
    for key in [key for key, (ref, _) in _VECTORS.items() if ref() is None]:
        del _VECTORS[key]
    while len(_VECTORS) >= _VECTORS_KEPT:
        del _VECTORS[next(iter(_VECTORS))]
    vectors = metrics.item_vectors(matrix)
    vectors.flags.writeable = False  # shared between calls
    _VECTORS[id(matrix)] = (weakref.ref(matrix), vectors)
    return vectors


def _mean(values: np.ndarray) -> float:
    """The mean of the values that are not nan; nan when there are none."""
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def evaluate(
    model: Recommender,
    split: Split,
    cutoffs: tuple[int, ...] = (10, 20, 50),
    chunk_users: int = 2048,
    ap_denominator: str = "min",
    item_vectors: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-user measurements, summary rows of metric/k/value) of ``model`` trained on ``split.train``;
    ``item_vectors``: ``train_item_vectors(split.train.matrix)`` when the caller has them already (a run's
    candidates share one split, each in its own task)."""
    users = split.test_users
    k_max = max(cutoffs)
    recommended = top_items(model, users, k_max, split.train.matrix, chunk_users)
    hits = metrics.hit_matrix(users, recommended, split.test)
    n_relevant = np.diff(split.test.indptr)[users]
    per_user = {"user_index": users, "n_relevant": n_relevant}
    summary: list[dict] = []
    vectors = train_item_vectors(split.train.matrix) if item_vectors is None else item_vectors
    item_counts = split.train.matrix.getnnz(axis=0)
    ild = metrics.intra_list_diversity_at(recommended, vectors, cutoffs)
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
        for name, values in (
            ("ild", ild[k]),
            ("novelty", metrics.novelty(recommended[:, :k], item_counts, split.train.n_users)),
        ):
            per_user[f"{name}@{k}"] = values
            summary.append({"metric": name, "k": k, "value": _mean(values)})
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
