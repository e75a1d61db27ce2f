"""Implicit ALS (Hu, Koren & Volinsky 2008) with the conjugate-gradient solver of Takacs et al. 2011 / implicit.

Every (user, item) pair is a preference p_ui (1 if the user interacted, else 0) with confidence
c_ui = 1 + alpha * r_ui (or 1 + alpha * log(1 + r_ui / epsilon)), r_ui the interaction's value (1, or the
rating). Alternating passes solve, for every user u with the item factors Y fixed (and then the other way round)

    A_u x_u = b_u,   A_u = Y^T Y + Y_u^T (C_u - I) Y_u + lambda I,   b_u = Y_u^T c_u

by a few conjugate-gradient steps warm-started from the previous x_u, as implicit's CPU solver does. Here the
solves of all users run at once, vectorised in torch, and A_u is never formed: each CG step needs

    A_u p_u = p_u (Y^T Y + lambda I) + sum_i (c_ui - 1) (y_i . p_u) y_i

which is one sampled dense-dense product (SDDMM: y_i . p_u at the nonzeros) and one sparse x dense product
(SpMM) over the whole interaction matrix, plus a (users x f) @ (f x f) product. Both sparse kernels are torch's
(``sampled_addmm`` and CSR ``addmm``; MKL / cuSPARSE underneath), so one code path serves the CPU and the GPU and
nothing loops over users in Python. Measured on this project's 2-core machine (``make bench``, docs/benchmarks.md):
64 factors on the 20M benchmark set's 18M training interactions (138k x 27k) take about 2.9 s per iteration,
0.6x the time of implicit's CPU solver on the same threads, at the same holdout nDCG@10.
Rows are processed in chunks of ``chunk_rows`` to bound the (rows x factors) work vectors and keep them in cache,
and on the CPU the sparse products run over column blocks whose factors fit in cache (see ``Tiles``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch

from models.base import Config, Interactions, Recommender, TrainOptions

CONFIDENCE_SCALINGS = ("linear", "log")


@dataclass(frozen=True)
class IALSConfig(Config):
    #: Latent factors per user and per item.
    factors: int = 64
    #: L2 regularisation lambda of every user and item vector.
    regularization: float = 1.0
    #: Confidence weight alpha: an interaction of value r counts 1 + alpha * r (see ``confidence``).
    alpha: float = 10.0
    #: Alternating passes (all users, then all items).
    iterations: int = 15
    #: Confidence scaling: "linear" (1 + alpha r) or "log" (1 + alpha log(1 + r / epsilon)).
    confidence: str = "linear"
    #: Epsilon of the log confidence scaling.
    epsilon: float = 1.0
    #: Take r from the rating values (True) or count every interaction as r = 1 (False).
    use_ratings: bool = False
    #: The champion's refit on all data starts from its factors fitted on the holdout's training part and runs
    #: this many iterations (0: a cold fit of ``iterations``). The first user pass solves every user against
    #: items that already fit, so a few passes reach the cold fit's quality (``python -m jobs.bench.warm_refit``).
    refit_iterations: int = 2
    #: Conjugate-gradient steps per solve, warm-started from the previous factors (implicit uses 3).
    cg_steps: int = 3
    #: Standard deviation of the initial factors.
    init_std: float = 0.01
    #: Rows (users or items) solved per chunk; bounds the work vectors to a few chunk_rows x factors floats. On
    #: the CPU each column block's kernels read and write the chunk's rows, so a chunk that stays in the last-level
    #: cache (32k rows x 64 factors: 8 MiB a vector) is faster than a large one streamed from memory once per block:
    #: 9.3 s against 10.9 s an iteration at 100M ratings, 1.4 s against 1.55 s at 20M (docs/benchmarks.md).
    chunk_rows: int = 32_768
    #: CPU only: the sparse products read the other side's factors in column blocks of about this many KiB,
    #: so that they stay in cache (about the per-core L2 size).
    cache_kib: int = 1024

    def __post_init__(self) -> None:
        if self.confidence not in CONFIDENCE_SCALINGS:
            raise ValueError(f"confidence must be one of {CONFIDENCE_SCALINGS}, not {self.confidence!r}")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "factors": trial.suggest_int("factors", 16, 256, log=True),
            "regularization": trial.suggest_float("regularization", 1e-3, 100.0, log=True),
            "alpha": trial.suggest_float("alpha", 0.5, 100.0, log=True),
            "iterations": trial.suggest_int("iterations", 3, 30),
        }


class Tiles:
    """One side of the interaction matrix (rows x cols: users x items, or its transpose) cut into tiles.

    Rows are cut into chunks of ``chunk_rows`` (bounding the work vectors), columns into blocks of
    ``block_cols``: the sparse kernels gather one factor row per nonzero, and a block's factors (block_cols x f
    floats, about 1 MiB) stay in the core's cache, where gathering from a whole 20M-rating factor table would
    miss it on nearly every nonzero (the item side ran 8x slower). Each tile is a torch CSR structure (int32
    indices while they fit) with the confidences c and c - 1 of its nonzeros.
    """

    def __init__(self, matrix: sp.csr_matrix, confidence: np.ndarray, chunk_rows: int, block_cols: int, device: torch.device):
        self.shape = matrix.shape
        self.chunks: list[tuple[int, int, list[tuple[int, int, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]]] = []
        n_rows, n_cols = matrix.shape
        block_cols = max(1, min(block_cols, n_cols))
        n_blocks = -(-n_cols // block_cols)
        for lo in range(0, n_rows, chunk_rows):
            hi = min(lo + chunk_rows, n_rows)
            start, end = matrix.indptr[lo], matrix.indptr[hi]
            indices = matrix.indices[start:end]
            conf = confidence[start:end]
            row_of = np.repeat(np.arange(hi - lo, dtype=np.int32), np.diff(matrix.indptr[lo : hi + 1]))
            # Group the nonzeros by column block, keeping the row-major order inside each (a stable sort; numpy
            # radix-sorts 16-bit keys, a hundred times faster than its merge sort of wider ones).
            block_of = (indices // block_cols).astype(np.uint16 if n_blocks <= 2**16 else np.int64)
            order = np.argsort(block_of, kind="stable")
            bounds = np.concatenate(([0], np.cumsum(np.bincount(block_of, minlength=n_blocks))))
            tiles = []
            for block in range(len(bounds) - 1):
                seg = order[bounds[block] : bounds[block + 1]]
                if len(seg) == 0:
                    continue
                index_dtype = np.int32 if len(seg) < 2**31 - 1 else np.int64
                crow = np.zeros(hi - lo + 1, dtype=index_dtype)
                np.cumsum(np.bincount(row_of[seg], minlength=hi - lo), out=crow[1:])
                col = (indices[seg] - block * block_cols).astype(index_dtype)
                c = torch.from_numpy(np.ascontiguousarray(conf[seg], dtype=np.float32))
                tiles.append((
                    block * block_cols,
                    min((block + 1) * block_cols, n_cols),
                    torch.from_numpy(crow).to(device),
                    torch.from_numpy(col).to(device),
                    c.to(device),
                    (c - 1.0).to(device),
                ))
            self.chunks.append((lo, hi, tiles))

    @staticmethod
    def csr(crow: torch.Tensor, col: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return torch.sparse_csr_tensor(crow, col, values, size=shape, check_invariants=False)


def cpu_block_cols(cache_kib: int, factors: int) -> int:
    """Columns per block whose float32 factors take about ``cache_kib`` KiB."""
    return max(1, cache_kib * 1024 // (4 * factors))


def tile_sides(matrix: sp.csr_matrix, conf: np.ndarray, chunk_rows: int, block_cols: int,
               device: torch.device) -> tuple[Tiles, Tiles]:
    """(users x items, items x users) tiles of the confidences ``conf`` of the sorted CSR ``matrix``'s nonzeros."""
    by_user = Tiles(matrix, conf, chunk_rows, block_cols, device)
    transposed = sp.csr_matrix((conf, matrix.indices, matrix.indptr), shape=matrix.shape).T.tocsr()
    transposed.sort_indices()
    return by_user, Tiles(transposed, transposed.data, chunk_rows, block_cols, device)


def _sampled_dots(pattern: torch.Tensor, rows: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """rows[u] . other[i] for every nonzero (u, i) of the CSR ``pattern`` (an SDDMM), as a values vector."""
    return torch.sparse.sampled_addmm(pattern, rows, other.T, beta=0.0).values()


def conjugate_gradient_pass(side: Tiles, x: torch.Tensor, y: torch.Tensor, regularization: float, steps: int) -> None:
    """Update ``x`` in place: ``steps`` CG steps on A_u x_u = b_u for every row u of ``side``, warm-started."""
    f = y.shape[1]
    gram = y.T @ y + regularization * torch.eye(f, dtype=y.dtype, device=y.device)
    for lo, hi, tiles in side.chunks:
        xc = x[lo:hi]
        # Residual r = b - A x = sum_i (c_ui - (c_ui - 1) y_i.x_u) y_i - (Y^T Y + lambda I) x_u.
        r = xc @ gram.neg()
        for c0, c1, crow, col, conf, conf_m1 in tiles:
            yb, shape = y[c0:c1], (hi - lo, c1 - c0)
            dots = _sampled_dots(side.csr(crow, col, conf_m1, shape), xc, yb)
            r.addmm_(side.csr(crow, col, conf - conf_m1 * dots, shape), yb)
        p = r.clone()
        rs_old = (r * r).sum(dim=1)
        for _ in range(steps):
            # A p = (Y^T Y + lambda I) p + sum_i (c_ui - 1) (y_i . p) y_i
            ap = p @ gram
            for c0, c1, crow, col, _conf, conf_m1 in tiles:
                yb, shape = y[c0:c1], (hi - lo, c1 - c0)
                dots = _sampled_dots(side.csr(crow, col, conf_m1, shape), p, yb)
                ap.addmm_(side.csr(crow, col, conf_m1 * dots, shape), yb)
            p_ap = (p * ap).sum(dim=1)
            step = torch.where(p_ap > 0, rs_old / p_ap.clamp_min(1e-30), 0.0).unsqueeze(1)
            xc.addcmul_(step, p)
            r.addcmul_(step, ap, value=-1.0)
            rs_new = (r * r).sum(dim=1)
            beta = torch.where(rs_old > 1e-20, rs_new / rs_old.clamp_min(1e-30), 0.0)
            p.mul_(beta.unsqueeze(1)).add_(r)
            rs_old = rs_new


class IALS(Recommender):
    """Implicit-feedback matrix factorisation; scores are x_u . y_i."""

    name = "ials"
    config_class = IALSConfig

    def confidences(self, matrix: sp.csr_matrix) -> np.ndarray:
        """c_ui for the nonzeros of ``matrix`` (in its data order)."""
        cfg = self.config
        r = matrix.data.astype(np.float32) if cfg.use_ratings else np.ones(matrix.nnz, np.float32)
        if cfg.confidence == "log":
            return (1.0 + cfg.alpha * np.log1p(r / cfg.epsilon)).astype(np.float32)
        return (1.0 + cfg.alpha * r).astype(np.float32)

    warm_refit = True

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        return self._train(data, options or TrainOptions(), None)

    def refit(self, data: Interactions, previous: Recommender, options: TrainOptions | None = None) -> Self:
        """``refit_iterations`` passes from ``previous``'s factors when it is an iALS fit of the same shape and
        factors; otherwise a cold ``fit``."""
        same = (isinstance(previous, IALS) and previous.config.factors == self.config.factors
                and (previous.n_users, previous.n_items) == data.matrix.shape)
        if not same or self.config.refit_iterations <= 0:
            return self.fit(data, options)
        return self._train(data, options or TrainOptions(), previous)

    def _train(self, data: Interactions, options: TrainOptions, start: IALS | None) -> Self:
        cfg = self.config
        device = options.torch_device
        matrix = data.matrix.tocsr().astype(np.float32)
        matrix.sort_indices()
        conf = self.confidences(matrix)
        # On the CPU, column blocks of about cache_kib of factors; a GPU gathers well from its whole memory.
        block = cpu_block_cols(cfg.cache_kib, cfg.factors) if device.type == "cpu" else 2**31 - 1
        by_user, by_item = tile_sides(matrix, conf, cfg.chunk_rows, block, device)

        n_users, n_items = matrix.shape
        if start is None:
            gen = torch.Generator().manual_seed(options.seed)
            self.user_factors = (torch.randn(n_users, cfg.factors, generator=gen) * cfg.init_std).to(device)
            self.item_factors = (torch.randn(n_items, cfg.factors, generator=gen) * cfg.init_std).to(device)
        else:
            self.user_factors = start.user_factors.detach().to(device, torch.float32).clone()
            self.item_factors = start.item_factors.detach().to(device, torch.float32).clone()
        iterations = cfg.iterations if start is None else cfg.refit_iterations
        self.n_users, self.n_items = n_users, n_items
        self.device = device
        self.iterations_run = 0
        with torch.inference_mode():
            for it in range(1, iterations + 1):
                conjugate_gradient_pass(by_user, self.user_factors, self.item_factors, cfg.regularization, cfg.cg_steps)
                conjugate_gradient_pass(by_item, self.item_factors, self.user_factors, cfg.regularization, cfg.cg_steps)
                self.iterations_run = it
                if options.epoch_done(self, it, lambda: self.training_loss(by_user)):
                    break
        return self

    def training_loss(self, side: Tiles) -> float:
        """Weighted squared error plus L2, normalised like implicit's calculate_training_loss."""
        x, y, reg = self.user_factors, self.item_factors, self.config.regularization
        with torch.inference_mode():
            total = ((x @ (y.T @ y)) * x).sum()  # every pair as if unobserved: sum_u x_u^T Y^T Y x_u
            weight = float(side.shape[0]) * side.shape[1]
            for lo, hi, tiles in side.chunks:
                for c0, c1, crow, col, conf, conf_m1 in tiles:
                    s = _sampled_dots(side.csr(crow, col, conf_m1, (hi - lo, c1 - c0)), x[lo:hi], y[c0:c1])
                    total += (conf * (1.0 - s) ** 2 - s**2).sum()
                    weight += float(conf_m1.sum())
            total += reg * ((x * x).sum() + (y * y).sum())
        return float(total) / weight

    def score(self, users: np.ndarray) -> torch.Tensor:
        idx = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
        return self.user_factors[idx] @ self.item_factors.T

    def dot_factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(user factors, item factors): ``score(users) == user_factors[users] @ item_factors.T``, which lets the
        shared top-k (``models.topk.topk_dot``) rank without materialising and sorting every score."""
        return self.user_factors, self.item_factors

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        return factor_cosine(self.item_factors, items)

    def unit_item_vectors(self) -> torch.Tensor:
        return unit_rows(self.item_factors)


def unit_rows(factors: torch.Tensor) -> torch.Tensor:
    """The rows of ``factors`` scaled to unit length, float32: ``factor_cosine``'s vectors (a zero row stays 0)."""
    return torch.nn.functional.normalize(factors.float(), dim=1)


def factor_cosine(factors: torch.Tensor, items: np.ndarray) -> torch.Tensor:
    """Cosine similarity of the rows ``items`` of ``factors`` to every row: float32 (len(items), n_rows)."""
    unit = unit_rows(factors)
    idx = torch.from_numpy(np.asarray(items, dtype=np.int64)).to(factors.device)
    return unit[idx] @ unit.T
