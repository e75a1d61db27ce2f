"""Holdouts: which interactions a model is judged on, in the protocol the user chose (``train.holdout_scope``).

Validate the way the user judges (README, "Choosing a holdout"):

- ``global`` (time): the most recent ``fraction`` of all interactions, as tomorrow's ratings would be;
- ``user`` (time): each user's own most recent ``fraction`` (at least one, never all), for data where users
  arrive in bursts and the latest days hold few of them (MovieLens-100K: 85 of 943 users);
- ``random``: a seeded random ``fraction`` of the interactions, stratified by ``user`` (a fraction of each
  user's) or by ``item`` (of each item's, as Microsoft Recommenders' ``python_stratified_split(filter_by="item")``),
  for a downstream evaluation on a random split, or timestamps that carry no order.

``fold`` k > 0 gives tuning another window: for time, the window k fractions back (rolling origin: the model
trains on what came before and is tested on the window, what came after is left out of both); for random, an
independent draw (seed + k) that never reuses the gate's own (fold 0). Held-out rows of users or items with no
training interaction are dropped from the test set (no model can score them; the popularity fallback serves
such users in production). Interactions at the same instant, or in a random draw, are ordered by a fixed hash
of (user, item): arbitrary but the same on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # models.base imports torch; jobs.config reads SCOPES and STRATA when DAG files are parsed
    from models.base import Interactions

SCOPES = ("global", "user", "random")
STRATA = ("user", "item")


@dataclass
class Split:
    train: Interactions
    test: sp.csr_matrix  # same shape as train.matrix; the held-out interactions with their ratings
    cut_at: float | None  # the timestamp (epoch seconds) where the holdout begins

    @property
    def test_users(self) -> np.ndarray:
        return np.flatnonzero(np.diff(self.test.indptr) > 0)


def holdout_split(data: Interactions, rated_at: np.ndarray | None, fraction: float, scope: str = "global",
                  stratify: str = "user", seed: int = 42, fold: int = 0) -> Split:
    """The holdout of protocol ``scope`` (see the module's docstring). ``rated_at`` follows matrix.data (needed
    by the time scopes only); ``stratify`` and ``seed`` apply to ``random`` only."""
    if scope not in SCOPES:
        raise ValueError(f"holdout scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if scope == "random":
        return random_split(data, fraction, stratify, seed, fold)
    if rated_at is None:
        raise ValueError(f"the {scope!r} holdout is time-based: it needs the interactions' timestamps")
    return temporal_split(data, rated_at, fraction, scope, fold)


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
        raise ValueError(f"a time-based holdout scope is 'global' or 'user', not {scope!r}")
    if fraction <= 0 or matrix.nnz == 0:
        return _no_holdout(data)
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
    return _split(data, rows, held, later, cut)


def random_split(data: Interactions, fraction: float, stratify: str = "user", seed: int = 42, fold: int = 0) -> Split:
    """A seeded random ``fraction`` of each user's (``stratify="user"``) or each item's (``"item"``) interactions.

    As Microsoft Recommenders' ``python_stratified_split`` does: a group of n interactions keeps round((1 -
    fraction) x n) for training and holds out the rest, so a group of one is never held out. ``fold`` k draws
    with seed + k: tuning's folds never reuse the gate's draw (fold 0)."""
    if stratify not in STRATA:
        raise ValueError(f"holdout stratify must be 'user' or 'item', not {stratify!r}")
    matrix = data.matrix
    if fraction <= 0 or matrix.nnz == 0:
        return _no_holdout(data)
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    cols = matrix.indices.astype(np.int64)
    group = rows if stratify == "user" else cols
    draw = _mix(pair_hash(rows, cols) ^ _mix(np.uint64(seed + fold + 1)))
    order = np.lexsort((draw, group))  # by group, then in the draw's random order
    counts = np.bincount(group, minlength=matrix.shape[0] if stratify == "user" else matrix.shape[1])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, counts)
    n_train = np.rint((1.0 - fraction) * counts).astype(np.int64)
    held = rank >= n_train[group]
    return _split(data, rows, held, np.zeros(len(held), dtype=bool), None)


def _no_holdout(data: Interactions) -> Split:
    return Split(train=data, test=sp.csr_matrix(data.matrix.shape, dtype=np.float32), cut_at=None)


def _split(data: Interactions, rows: np.ndarray, held: np.ndarray, later: np.ndarray, cut: float | None) -> Split:
    """Train on what is neither held out nor later; test on the held-out rows of users and items seen in training."""
    matrix = data.matrix
    before = ~held & ~later
    train = _entries(matrix, rows, before)
    known_user = np.diff(train.indptr) > 0
    known_item = np.bincount(train.indices, minlength=matrix.shape[1]) > 0
    keep = held & known_user[rows] & known_item[matrix.indices]
    test = _entries(matrix, rows, keep)
    return Split(train=data.subset(train, before), test=test, cut_at=cut)


def _entries(matrix: sp.csr_matrix, rows: np.ndarray, mask: np.ndarray) -> sp.csr_matrix:
    """The stored entries of ``matrix`` where ``mask`` (``rows``: each entry's row), as a float32 CSR matrix of the
    same shape. A canonical CSR's entries in order are already sorted by row and column, so the subset is taken
    as it is, without the sort of a COO conversion (at the 20M shape, 1 s of each split)."""
    if not matrix.has_canonical_format:
        return sp.csr_matrix((matrix.data[mask], (rows[mask], matrix.indices[mask])), shape=matrix.shape,
                             dtype=np.float32)
    indptr = np.zeros(matrix.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[mask], minlength=matrix.shape[0]), out=indptr[1:])
    return sp.csr_matrix((matrix.data[mask].astype(np.float32, copy=False), matrix.indices[mask], indptr),
                         shape=matrix.shape)


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
    order = np.lexsort((pair_hash(rows, matrix.indices), -rated_at, rows))  # per user, newest first
    rank_in_user = np.arange(len(order)) - np.repeat(matrix.indptr[:-1], counts)
    n_held = np.clip(np.rint(fraction * counts), 1, np.maximum(counts - 1, 0)).astype(np.int64)
    lo, hi = np.repeat(n_held * fold, counts), np.repeat(n_held * (fold + 1), counts)
    earliest = rank_in_user == np.repeat(counts - 1, counts)
    held, later = np.zeros(len(order), dtype=bool), np.zeros(len(order), dtype=bool)
    held[order] = (rank_in_user >= lo) & (rank_in_user < hi) & ~earliest
    later[order] = rank_in_user < lo
    return held, later


def pair_hash(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A well-mixed uint64 per (row, col): a fixed pseudo-random order of pairs."""
    return _mix(rows.astype(np.uint64) << np.uint64(32) | cols.astype(np.uint64))


def _mix(x: np.ndarray | np.uint64) -> np.ndarray:
    """splitmix64's finaliser: every input bit flips about half the output bits."""
    x = np.asarray(x, dtype=np.uint64).copy()
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


