"""Top-N and rating metrics, each a short function over a whole batch of users at once.

Inputs are a ``hits`` matrix (users x K booleans: was the item at rank j relevant for the user) and each
user's number of relevant items. Definitions (binary relevance):

- precision@k = hits in the top k / k
- recall@k    = hits in the top k / relevant items
- ndcg@k      = sum_j hit_j / log2(j + 1)  over the ideal DCG of min(relevant, k) hits
- map@k       = sum_j precision@j * hit_j  /  min(relevant, k)   (``ap_denominator="min"``, the usual AP@k)
                or / relevant (``"relevant"``: Microsoft Recommenders' ``map``)
- coverage@k  = distinct items recommended in anyone's top k / catalogue size

Beyond accuracy (per user, over the valid items of the list; -1 slots are skipped):

- ild@k       = 1 - mean cosine between the pairs of the top k, on ``item_vectors`` (embeddings of the
                training matrix, so the measure does not depend on the model judged); nan below 2 items
- novelty@k   = mean self-information -log2(users of the item / users) of the top k; nan for an empty list
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Users per batch in ``intra_list_diversity``: bounds its (users x k x d) gather.
_ILD_CHUNK_USERS = 16384


def hit_matrix(user_rows: np.ndarray, recommended: np.ndarray, truth: sp.csr_matrix) -> np.ndarray:
    """Booleans (users x K): is ``recommended[i, j]`` among the items of ``truth[user_rows[i]]``? -1 slots are misses."""
    n_items = truth.shape[1]
    if not truth.has_canonical_format:
        truth = truth.copy()
        truth.sum_duplicates()  # sorted indices, each once
    # A canonical CSR's (row, column) keys are already in ascending order, so each recommended key is looked up by
    # binary search: at the 20M shape 0.4 s against np.isin's 2.3 s, which sorts both sides first.
    rows = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr))
    truth_keys = rows * n_items + truth.indices
    rec_keys = user_rows.astype(np.int64)[:, None] * n_items + recommended
    if len(truth_keys) == 0:
        return np.zeros(rec_keys.shape, dtype=bool)
    found = truth_keys[np.minimum(np.searchsorted(truth_keys, rec_keys), len(truth_keys) - 1)]
    return (found == rec_keys) & (recommended >= 0)


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


def item_vectors(matrix: sp.csr_matrix, dim: int = 64, seed: int = 42) -> np.ndarray:
    """(n_items, d) L2-normalised item embeddings: the truncated SVD of the binary users x items ``matrix``
    (item j's row is its right singular vector entries times the singular values), d = min(dim, n_items - 1,
    n_users - 1). Items without interactions get zero vectors."""
    # Imported here: sklearn is slow to import, and the gate and tuning import this module for parse_metric.
    from sklearn.utils.extmath import randomized_svd

    binary = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    binary.data[:] = 1.0
    n_users, n_items = binary.shape
    d = min(dim, n_items - 1, n_users - 1)
    if d < 1 or binary.nnz == 0:
        return np.zeros((n_items, max(d, 0)), dtype=np.float32)
    # Two power iterations, not sklearn's default seven: a diversity measure needs the leading directions, not
    # their last digits, and at the MovieLens-20M shape this costs 1.6 s instead of 4.7 s per call.
    _, sigma, vt = randomized_svd(binary, d, n_iter=2, random_state=seed)
    vectors = (vt.T * sigma).astype(np.float32)
    vectors[binary.getnnz(axis=0) == 0] = 0.0
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


def intra_list_diversity(items: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Per user (n,): 1 - the mean cosine over the pairs of valid items of their list (``items`` (n, k), -1 slots
    skipped); nan for fewer than 2 items. A zero vector counts as unlike every item."""
    items = np.asarray(items)
    return intra_list_diversity_at(items, vectors, (items.shape[1],))[items.shape[1]]


def intra_list_diversity_at(items: np.ndarray, vectors: np.ndarray, cutoffs: tuple[int, ...]) -> dict[int, np.ndarray]:
    """``intra_list_diversity(items[:, :k], vectors)`` for every k in ``cutoffs`` in one pass over the lists.

    On unit vectors sum_{i != j} v_i . v_j = |sum_i v_i|^2 - sum_i |v_i|^2, so no pairwise matrix is formed; the
    sums of the list segments between cutoffs come from one ``embedding_bag`` (no (users x k x d) gather) and their
    running sums give every prefix."""
    import torch  # here, like sklearn below: the gate imports this module for parse_metric

    items = torch.as_tensor(np.asarray(items, dtype=np.int64))
    vectors = torch.from_numpy(np.array(vectors, dtype=np.float32))  # a copy: the shared vectors are read-only
    n_items = len(vectors)
    unit = torch.nn.functional.normalize(vectors, dim=1) if vectors.numel() else vectors
    unit = torch.cat([unit, torch.zeros(1, unit.shape[1])])  # row n_items: an empty slot adds nothing
    own_norm = unit.square().sum(dim=1).round()  # 1 for an item with a vector, 0 for a zero one or a gap
    width = items.shape[1]
    ends = sorted({min(k, width) for k in cutoffs if min(k, width) >= 1})
    starts = torch.tensor([0, *ends[:-1]])
    out = {k: np.full(len(items), np.nan) for k in cutoffs}
    if not ends:
        return out
    for lo in range(0, len(items), _ILD_CHUNK_USERS):
        chunk = items[lo : lo + _ILD_CHUNK_USERS, : ends[-1]]
        chunk = torch.where(chunk >= 0, chunk, n_items)
        offsets = (torch.arange(len(chunk))[:, None] * chunk.shape[1] + starts[None, :]).reshape(-1)
        segments = torch.nn.functional.embedding_bag(chunk.reshape(-1), unit, offsets, mode="sum")
        running = segments.view(len(chunk), len(ends), -1).cumsum(dim=1)
        squared = torch.einsum("usd,usd->us", running, running).double()  # |sum of the first `end` vectors|^2
        own = own_norm[chunk].double().cumsum(dim=1)
        valid = (chunk < n_items).double().cumsum(dim=1)
        for k in cutoffs:
            if min(k, width) < 1:
                continue
            at, end = ends.index(min(k, width)), min(k, width) - 1
            pairs = valid[:, end] * (valid[:, end] - 1.0)
            diversity = 1.0 - (squared[:, at] - own[:, end]) / pairs.clamp_min(1.0)
            out[k][lo : lo + len(chunk)] = torch.where(pairs > 0, diversity, torch.nan).numpy()
    return out


def novelty(items: np.ndarray, item_counts: np.ndarray, n_users: int) -> np.ndarray:
    """Per user (n,): the mean self-information -log2(count_i / n_users) of the valid items of their list
    (``item_counts``: users per item, clipped to >= 1); nan for an empty list."""
    items = np.asarray(items, dtype=np.int64)
    valid = items >= 0
    counts = np.maximum(np.asarray(item_counts, dtype=np.float64), 1.0)
    information = -np.log2(counts / max(n_users, 1))
    total = np.where(valid, information[np.where(valid, items, 0)], 0.0).sum(axis=1)
    count = valid.sum(axis=1)
    return np.divide(total, count, out=np.full(len(items), np.nan), where=count > 0)


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
