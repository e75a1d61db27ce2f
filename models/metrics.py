"""Top-N and rating metrics, each a short function over a whole batch of users at once.

Inputs are a ``hits`` matrix (users x K booleans: was the item at rank j relevant for the user) and each
user's number of relevant items. Definitions (binary relevance):

- precision@k = hits in the top k / k
- recall@k    = hits in the top k / relevant items
- ndcg@k      = sum_j hit_j / log2(j + 1)  over the ideal DCG of min(relevant, k) hits
- map@k       = sum_j precision@j * hit_j  /  min(relevant, k)   (``ap_denominator="min"``, the usual AP@k)
                or / relevant (``"relevant"``: Microsoft Recommenders' ``map``)
- coverage@k  = distinct items recommended in anyone's top k / catalogue size
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def hit_matrix(user_rows: np.ndarray, recommended: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """Booleans (users x K): is ``recommended[i, j]`` among the items of ``truth[user_rows[i]]``? -1 slots are misses."""
    n_items = truth.shape[1]
    coo = truth.tocoo()
    truth_keys = coo.row.astype(np.int64) * n_items + coo.col
    rec_keys = user_rows.astype(np.int64)[:, None] * n_items + recommended
    return np.isin(rec_keys, truth_keys) & (recommended >= 0)


def precision_at_k(hits: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].sum(axis=1) / k


def recall_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    return hits[:, :k].sum(axis=1) / np.maximum(n_relevant, 1)


def ndcg_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int) -> np.ndarray:
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = (hits[:, :k] * discounts[: hits[:, :k].shape[1]]).sum(axis=1)
    ideal_cum = np.concatenate(([0.0], np.cumsum(discounts)))
    idcg = ideal_cum[np.minimum(n_relevant, k)]
    return np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)


def map_at_k(hits: np.ndarray, n_relevant: np.ndarray, k: int, ap_denominator: str = "min") -> np.ndarray:
    top = hits[:, :k].astype(np.float64)
    precision_at_each = np.cumsum(top, axis=1) / np.arange(1, top.shape[1] + 1)
    summed = (precision_at_each * top).sum(axis=1)
    if ap_denominator == "min":
        denominator = np.minimum(n_relevant, k)
    elif ap_denominator == "relevant":
        denominator = n_relevant
    else:
        raise ValueError(f"ap_denominator must be 'min' or 'relevant', not {ap_denominator!r}")
    return np.divide(summed, denominator, out=np.zeros_like(summed), where=denominator > 0)


def coverage_at_k(recommended: np.ndarray, n_items: int, k: int) -> float:
    top = recommended[:, :k]
    return len(np.unique(top[top >= 0])) / n_items if n_items else 0.0


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted - actual) ** 2))) if len(actual) else float("nan")


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted - actual))) if len(actual) else float("nan")


def parse_metric(key: str) -> tuple[str, int | None]:
    """``'ndcg@10'`` -> ``('ndcg', 10)``; ``'rmse'`` -> ``('rmse', None)``."""
    name, _, k = key.partition("@")
    return name, int(k) if k else None


def paired_difference(difference: np.ndarray) -> tuple[float, float, float]:
    """(mean, standard error, z = mean / se) of per-user paired differences between two models.

    With fewer than two users the standard error is unknown (inf, and z = 0); with no spread at all z is
    +-inf (or 0 for no difference).
    """
    n = len(difference)
    mean = float(np.mean(difference)) if n else 0.0
    if n < 2:
        return mean, float("inf"), 0.0
    se = float(np.std(difference, ddof=1)) / np.sqrt(n)
    if se > 0:
        return mean, se, mean / se
    return mean, se, float(np.sign(mean)) * float("inf") if mean else 0.0
