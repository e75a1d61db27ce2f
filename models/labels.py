"""How a stacked model draws the labels it learns from: each user's interactions split into a part the base models
fit on and a part they must find (the hybrid's ranker, the two-tower's re-ranker).

Each drawing comes as masks over the entries of a CSR matrix with sorted indices (CSR order), so whatever else
follows the entries (``Interactions.rated_at``) can be cut the same way; ``part`` turns a mask into a matrix.

- ``random_masks``: a seeded random ``fraction`` of each user's interactions;
- ``fold_masks``: cross-fitting, each user's interactions dealt at random into ``folds`` folds, each labelled once;
- ``time_masks``: each user's latest interactions, ``folds`` consecutive windows going back from the newest, the fit
  part of each window what the user did before it (the pipeline's ``holdout_scope = "user"`` protocol, rolled back).

A user's only interaction is never a label (nothing would be left to fit on), nor is a user's earliest under time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.splits import pair_hash

Masks = tuple[np.ndarray, np.ndarray]  # (fit, label), booleans over the matrix's entries


def entry_rows(matrix: sp.csr_matrix) -> np.ndarray:
    """The row of each stored entry, in CSR order."""
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def part(matrix: sp.csr_matrix, keep: np.ndarray) -> sp.csr_matrix:
    """The entries of ``matrix`` where ``keep``, as a float32 CSR of the same shape, in the same (sorted) order."""
    rows = entry_rows(matrix)
    out = sp.csr_matrix((matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape, dtype=np.float32)
    out.sort_indices()
    return out


def _positions(order: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each entry's place within its user under ``order`` (a permutation grouping entries by user)."""
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order)) - np.repeat(np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return position


def _shuffled(matrix: sp.csr_matrix, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(interactions per user, each entry's row, each entry's place in a seeded random order of its user's)."""
    counts = np.diff(matrix.indptr)
    rows = entry_rows(matrix)
    return counts, rows, _positions(np.lexsort((rng.random(matrix.nnz), rows)), counts)


def random_masks(matrix: sp.csr_matrix, fraction: float, rng: np.random.Generator) -> Masks:
    """A user with n interactions labels round(fraction * n) at random, at least 1 when n >= 2 and never all n."""
    counts, rows, position = _shuffled(matrix, rng)
    n_label = np.where(counts >= 2, np.clip(np.rint(fraction * counts), 1, np.maximum(counts - 1, 1)), 0)
    label = position < n_label[rows]
    return ~label, label


def fold_masks(matrix: sp.csr_matrix, folds: int, rng: np.random.Generator) -> list[Masks]:
    """``folds`` drawings: each user's interactions in a seeded random order, the j-th going to fold j mod ``folds``;
    drawing f labels fold f and fits on the rest. Every interaction of a user with two or more is a label once."""
    counts, rows, position = _shuffled(matrix, rng)
    fold = np.where(counts[rows] >= 2, position % folds, -1)
    return [(fold != f, fold == f) for f in range(folds)]


def time_masks(matrix: sp.csr_matrix, rated_at: np.ndarray, folds: int, fraction: float) -> list[Masks]:
    """``folds`` windows of each user's latest ``fraction`` of interactions, ``fraction / folds`` each, newest first.

    Window j labels the interactions whose place in the user's time order lies in [round(n (1 - (j+1) s)),
    round(n (1 - j s))), s = fraction / folds (so small users get windows of one or none), and fits on the user's
    interactions before it. Ties in time break by a fixed hash of (user, item), as the pipeline's holdout does.
    """
    counts = np.diff(matrix.indptr)
    rows = entry_rows(matrix)
    order = np.lexsort((pair_hash(rows, matrix.indices), rated_at, rows))  # per user, oldest first
    position = _positions(order, counts)
    step = fraction / folds
    out = []
    for j in range(folds):
        lo = np.maximum(np.rint(counts * (1.0 - (j + 1) * step)), 1)  # the earliest is never a label
        hi = np.where(counts >= 2, np.rint(counts * (1.0 - j * step)), 0)
        label = (position >= lo[rows]) & (position < hi[rows])
        out.append((position < lo[rows], label))
    return out


def random_holdout(matrix: sp.csr_matrix, fraction: float, rng: np.random.Generator) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``random_masks`` as (fit, label) CSR matrices of the same shape and values."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    fit, label = random_masks(matrix, fraction, rng)
    return part(matrix, fit), part(matrix, label)


def fold_holdouts(matrix: sp.csr_matrix, folds: int, rng: np.random.Generator) -> list[tuple[sp.csr_matrix, sp.csr_matrix]]:
    """``fold_masks`` as (fit, label) CSR matrices."""
    matrix = sp.csr_matrix(matrix)
    matrix.sort_indices()
    return [(part(matrix, fit), part(matrix, label)) for fit, label in fold_masks(matrix, folds, rng)]


def pairs_in(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Booleans: is (rows[i], cols[i]) a stored entry of ``matrix`` (CSR with sorted indices)?"""
    n_cols = matrix.shape[1]
    stored = entry_rows(matrix).astype(np.int64) * n_cols + matrix.indices
    wanted = np.asarray(rows, dtype=np.int64) * n_cols + np.asarray(cols, dtype=np.int64)
    at = np.minimum(np.searchsorted(stored, wanted), max(len(stored) - 1, 0))
    return (stored[at] == wanted) if len(stored) else np.zeros(len(wanted), dtype=bool)


def membership(matrix: sp.csr_matrix, users: np.ndarray, items: np.ndarray) -> np.ndarray:
    """float32 (len(users), k): 1 where ``items[i, j]`` is stored in row ``users[i]`` of ``matrix``."""
    rows = np.repeat(np.asarray(users, dtype=np.int64), items.shape[1])
    return pairs_in(matrix, rows, np.asarray(items).ravel()).reshape(items.shape).astype(np.float32)
