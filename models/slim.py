"""SLIM restricted to neighbourhoods with an L2 penalty, solved in closed form per item (the feature-selection SLIM
of Ning & Karypis 2012): EASE's regression with each item's predictors restricted to its ``k`` nearest items.

For each item j, N_j is its top-``k`` items by co-occurrence (or cosine), j itself excluded, so no diagonal
constraint is needed; then ``w_j = (G_NN + lambda I)^-1 G_Nj`` with G = X^T X of the binary history. W is a
sparse n_items x n_items matrix (at most k weights per column, W[i, j] the weight of item i in predicting j) and
a user's scores are ``x_u W``, as for item-kNN (``models.itemknn.ItemSimilarityModel``).

Two passes, each bounded by the configuration, never by n_items^2:

1. A pruned Gram: rows of X^T X a block of ``block_items`` at a time (block x n_items floats, as
   ``models.itemknn.pruned_product``), each row's top-``candidates`` (M >= k) entries by the neighbour
   similarity kept with their co-occurrence counts; the first ``k`` of them are the item's neighbourhood.
   Memory: n_items x M (index, count) pairs plus one dense block.
2. The solves, ``solve_items`` items at a time: G_NN is gathered from the pruned rows of the neighbours (through
   a block x n_items position map: block x k x M gathers), symmetrised by max, lambda added to its diagonal, and
   the (block, k, k) systems are solved by one batched Cholesky (``torch.linalg.cholesky_ex`` +
   ``cholesky_solve``) in float64. G_Nj is exact (row j of the pruned Gram holds its own neighbours).

The approximation: a pair (a, b) of j's neighbours whose co-occurrence is in neither a's nor b's top-M reads as 0.
That can leave G_NN indefinite or nearly singular, and the weights then explode; exact ridge weights obey
lambda |w|^2 <= G_jj, so an item breaking that bound (or its Cholesky) is solved again with a Gershgorin-raised
diagonal (``_solve_one``). Measured on MovieLens-100K (per-item 75/25 split, seed 42, lambda 250), nDCG@10:

- k=100: exact G_NN (M = n_items) 0.4641; M = 2k (default) 0.4621, 4 of 1541 items guarded; M = 1.5k 0.4570 (320
  guarded; 0.1498 without the guard); M = k 0.2516.
- k=200: exact 0.4731, M = 2k 0.4735, M = 1.5k 0.4735; k=500 (M = 2k) 0.4788. EASE 0.4833, RP3beta 0.4411.

The exact alternative at scale, G_UU = X_U^T X_U for the union U of a block's neighbourhoods, costs nearly a full
Gram pass per block (popular items sit in every neighbourhood); the dense Gram (EASE) needs n_items^2. Cost: pass
1 is item-kNN's (the co-occurrence pairs), pass 2 is n_items x (k M gathers + k^3 / 3 Cholesky flops), plus a
block x n_items position map per solve block (n_items^2 / 2 bytes written in all, never held). Memory is the
matrix, n_items x M x 12 bytes of pruned Gram, one block x n_items float block, and W (n_items x k). Timings at the
MovieLens-20M shape: ``python -m jobs.bench.slim_fit``.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch

from models.base import Config, Interactions, TrainOptions
from models.itemknn import ItemSimilarityModel, top_neighbours

SIMILARITIES = ("cooccurrence", "cosine")


@dataclass(frozen=True)
class SLIMConfig(Config):
    #: Neighbours per item: the predictors of its regression (its k most similar items, itself excluded).
    k: int = 100
    #: L2 penalty lambda added to the diagonal of each neighbourhood's Gram block G_NN.
    regularization: float = 250.0
    #: How neighbours are chosen: "cooccurrence" (raw counts X^T X) or "cosine" (counts over |a| |b|).
    similarity: str = "cooccurrence"
    #: Pruned-Gram entries kept per item (M; 0 = 2k): G_NN entries outside both items' top-M read as 0.
    candidates: int = 0
    #: Items whose Gram rows are computed at once (pass 1): bounds memory to block_items x n_items floats.
    block_items: int = 1024
    #: Items whose k x k systems are gathered and solved at once (pass 2): memory ~ solve_items x (n_items + k x M).
    solve_items: int = 128

    def __post_init__(self) -> None:
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, not {self.similarity!r}")
        if self.k < 1:
            raise ValueError("k must be at least 1")
        if self.regularization <= 0:
            raise ValueError("regularization must be positive")
        if self.candidates and self.candidates < self.k:
            raise ValueError("candidates (M) must be at least k")
        if self.block_items < 1 or self.solve_items < 1:
            raise ValueError("block sizes must be at least 1")

    @property
    def m(self) -> int:
        return self.candidates or 2 * self.k

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "k": trial.suggest_int("k", 20, 500, log=True),
            "regularization": trial.suggest_float("regularization", 10.0, 5000.0, log=True),
            "similarity": trial.suggest_categorical("similarity", list(SIMILARITIES)),
        }


def pruned_gram(x: sp.csr_matrix, m: int, similarity: str, block_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Each item's top-``m`` other items by ``similarity``: (n_items, m) int32 columns (-1: none) and float32
    co-occurrence counts, sorted by similarity (descending), the diagonal excluded; a block of rows at a time."""
    n = x.shape[1]
    keep = min(m, n)
    norms = torch.from_numpy(np.diff(x.tocsc().indptr).astype(np.float32)).sqrt()

    def similarities(dots: torch.Tensor, lo: int, hi: int) -> torch.Tensor:
        if similarity != "cosine":
            return dots
        denom = norms[lo:hi, None] * norms[None, :]
        return torch.where(dots > 0, dots / denom.clamp_min(1e-30), torch.zeros((), dtype=torch.float32))

    cols = np.full((n, keep), -1, dtype=np.int32)
    vals = np.zeros((n, keep), dtype=np.float32)
    for lo, hi, dots, top_val, top_idx in top_neighbours(x.T.tocsr(), x, m, block_items, similarities):
        found = top_val > 0
        cols[lo:hi] = torch.where(found, top_idx, -1).numpy()
        vals[lo:hi] = torch.where(found, torch.gather(dots, 1, top_idx), 0.0).numpy()
    return cols, vals


def solve_neighbourhoods(cols: np.ndarray, vals: np.ndarray, degree: np.ndarray, k: int, regularization: float,
                         solve_items: int) -> tuple[sp.csr_matrix, int]:
    """W (n_items x n_items CSR, W[i, j] = weight of item i for item j) from the pruned Gram of ``pruned_gram``:
    per item j, w_j = (G_NN + lambda I)^-1 G_Nj over its first ``k`` candidates, ``solve_items`` items at a time.

    Also returns how many items needed a larger lambda (their pruned G_NN + lambda I was not positive definite)."""
    n, m = cols.shape
    k = min(k, m)
    cols_t = torch.from_numpy(cols.astype(np.int64))
    # Pad row n: the target of -1 columns in gathers (item n does not exist, its position is always "absent").
    cols_pad = torch.cat([cols_t, torch.full((1, m), n, dtype=torch.int64)])
    vals_pad = torch.cat([torch.from_numpy(vals), torch.zeros((1, m), dtype=torch.float32)])
    cols_pad[cols_pad < 0] = n
    degree_pad = torch.cat([torch.from_numpy(degree.astype(np.float64)), torch.zeros(1, dtype=torch.float64)])
    out_rows, out_cols, out_vals = [], [], []
    bumped_items = 0
    threads = torch.get_num_threads()
    for lo in range(0, n, solve_items):
        hi = min(lo + solve_items, n)
        b = hi - lo
        nb = cols_pad[lo:hi, :k]  # (b, k); n where there is no neighbour
        valid = nb < n
        # Position of each item in the block's neighbourhoods: pos[r, item] = slot, k for absent (and for item n);
        # int16 (k < 2^15) keeps this block x n_items map small.
        pos = torch.full((b, n + 1), k, dtype=torch.int16)
        slots = torch.arange(k, dtype=torch.int16).expand(b, k)
        pos.scatter_(1, nb, torch.where(valid, slots, torch.tensor(k, dtype=torch.int16)))
        # G_NN[r, s, t] = pruned G[nb[r, s], nb[r, t]] (0 when absent), via the rows of the neighbours. Padding
        # slots (no neighbour) read row n, all absent, and no position maps to them: their rows and columns are 0.
        where = torch.gather(pos, 1, cols_pad[nb].reshape(b, k * m)).reshape(b, k, m).long()
        gnn = torch.zeros((b, k, k + 1), dtype=torch.float32)
        gnn.scatter_(2, where, vals_pad[nb])
        gnn = gnn[:, :, :k]
        gnn = torch.maximum(gnn, gnn.transpose(1, 2)).double()
        gnn.diagonal(dim1=1, dim2=2).copy_(degree_pad[nb] + regularization)
        rhs = torch.from_numpy(vals[lo:hi, :k]).double().unsqueeze(2)  # exact G_Nj; 0 at padding slots
        w, bumped = _solve_spd(gnn, rhs, degree_pad[lo:hi], regularization, threads)
        bumped_items += bumped
        keep = valid & (w != 0)
        out_rows.append(nb[keep].numpy())
        out_cols.append((torch.arange(lo, hi)[:, None].expand(b, k))[keep].numpy())
        out_vals.append(w[keep].numpy())
    weights = sp.csr_matrix(
        (np.concatenate(out_vals), (np.concatenate(out_rows), np.concatenate(out_cols))), shape=(n, n), dtype=np.float32
    )
    weights.sort_indices()
    return weights, bumped_items


def _solve_one(a: torch.Tensor, rhs: torch.Tensor, target: torch.Tensor, regularization: float
               ) -> tuple[torch.Tensor, int]:
    """Batched Cholesky solve of ``a`` (b, k, k) = G_NN + lambda I against ``rhs`` (b, k, 1) = G_Nj.

    An exact ridge solution obeys lambda |w|^2 <= G_jj (``target``: w = 0 costs G_jj). A pruned G_NN can be
    indefinite or nearly singular, and its weights then explode: an item whose Cholesky fails or whose w breaks that
    bound gets its diagonal raised by its rows' absolute off-diagonal sums (Gershgorin: every eigenvalue then >=
    lambda, |w| <= |G_Nj| / lambda) and is solved again, a heavier penalty for that item alone. Returns the weights
    and how many items needed it.
    """
    chol, info = torch.linalg.cholesky_ex(a)
    w = torch.cholesky_solve(rhs, chol).squeeze(2)
    bad = (info != 0) | ~torch.isfinite(w).all(dim=1) | (regularization * (w * w).sum(dim=1) > target * (1 + 1e-6))
    failed = torch.nonzero(bad).squeeze(1)
    if len(failed):
        sub = a[failed]
        shift = sub.abs().sum(dim=2) - sub.diagonal(dim1=1, dim2=2).abs()
        sub.diagonal(dim1=1, dim2=2).add_(shift)
        chol_f, info_f = torch.linalg.cholesky_ex(sub)
        if bool((info_f != 0).any()):
            raise np.linalg.LinAlgError("a neighbourhood's Gram block stays indefinite: raise candidates or lambda")
        w[failed] = torch.cholesky_solve(rhs[failed], chol_f).squeeze(2)
    return w.float(), len(failed)


def _solve_spd(a: torch.Tensor, rhs: torch.Tensor, target: torch.Tensor, regularization: float, threads: int
               ) -> tuple[torch.Tensor, int]:
    """``_solve_one`` over ``threads`` slices of the batch at once, each single-threaded.

    torch's CPU batched Cholesky calls LAPACK once per small matrix, multithreaded inside; on a loaded 2-core machine
    that is 16x slower than one thread (8 vs 0.5 ms per 200 x 200 matrix, measured). Slices of the batch in
    parallel Python threads (LAPACK releases the GIL), torch at one thread, give the same numbers per matrix.
    """
    if threads <= 1 or a.shape[0] < 2 * threads:
        with _torch_threads(1):
            return _solve_one(a, rhs, target, regularization)
    bounds = np.linspace(0, a.shape[0], threads + 1).astype(int)
    with _torch_threads(1), ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(lambda lh: _solve_one(a[lh[0]:lh[1]], rhs[lh[0]:lh[1]], target[lh[0]:lh[1]], regularization),
                              zip(bounds[:-1], bounds[1:])))
    return torch.cat([w for w, _ in parts]), sum(b for _, b in parts)


@contextmanager
def _torch_threads(count: int) -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class SLIM(ItemSimilarityModel):
    """Scores item j for user u as sum over u's items i of W[i, j], j's ridge regression on its neighbourhood."""

    name = "slim"
    config_class = SLIMConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        cfg = self.config
        history = data.implicit()
        cols, vals = pruned_gram(history, cfg.m, cfg.similarity, cfg.block_items)
        degree = np.diff(history.tocsc().indptr)
        self.similarity, self.bumped_items = solve_neighbourhoods(cols, vals, degree, cfg.k, cfg.regularization,
                                                                  cfg.solve_items)
        self.history = history
        self.n_users, self.n_items = history.shape
        self.device = options.torch_device
        self._transposed: sp.csr_matrix | None = None
        return self

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        # W[i, j] says how much i predicts j; as EASE, the symmetric view (W + W^T) / 2.
        items = np.asarray(items, dtype=np.int64)
        if getattr(self, "_transposed", None) is None:
            self._transposed = self.similarity.T.tocsr()
        rows = (self.similarity[items] + self._transposed[items]).toarray().astype(np.float32, copy=False) / 2
        return torch.from_numpy(rows).to(self.device)
