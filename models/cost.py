"""What a fit will cost, from the data's shape, before it runs: each family's declared estimate of its fit time.

The nightly has a time budget (``[train] night_budget_minutes``); ``jobs.train.budget`` charges each candidate
its estimate and skips, with the reason, those that would break it. An estimate is a sum of work terms, each a
count from the data's ``Shape`` and the model's config times a rate in seconds, measured on the reference machine
(this project's 2-core benchmark VM: ``docs/benchmarks.md``, sections "Scale", "Quality" and "Fit-time
estimates", where ``make bench-costs`` compares every estimate with the fit it predicts). A machine twice as fast
halves every rate: ``[train] machine_speed`` scales them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Shape:
    """The counts a fit's cost grows with."""

    users: int
    items: int
    interactions: int
    #: Sum over users of (items they rated)^2: the work of item-item co-occurrence (X^T X) and of per-user sampling.
    pairs: int

    @classmethod
    def of(cls, matrix: sp.csr_matrix) -> Shape:
        degrees = np.diff(matrix.indptr).astype(np.float64)
        return cls(int(matrix.shape[0]), int(matrix.shape[1]), int(matrix.nnz), int(np.square(degrees).sum()))

    def scaled(self, fraction: float) -> Shape:
        """The shape of a ``fraction`` of the interactions (a holdout's training part), same users and items."""
        return Shape(self.users, self.items, int(self.interactions * fraction), int(self.pairs * fraction**2))


#: Seconds per unit of work on the reference machine (see the module's docstring for where each was measured).
RATES = {
    "scan": 5e-9,  # one pass over the interactions (popularity counts, CSR builds)
    "pair": 1.5e-9,  # one co-occurrence pair of X^T X (sparse Gram)
    "topk_item": 7e-7,  # item-kNN / RP3beta: per item x neighbour kept (weighing, sorting, the sparse result)
    "dense_item": 1.6e-11,  # EASE: the dense items^3 solve (Gram, Cholesky, inverse: 313 s at 27k items)
    "als": 2.5e-9,  # iALS: interactions x factors per iteration (2.87 s per iteration at 18M x 64)
    "sgd": 1.0e-6,  # a mini-batch SGD step per interaction per epoch (BPR, biased MF: torch on the CPU)
    "tower": 1.6e-5,  # two-tower in-batch softmax per interaction per epoch at dim 64
    "tfidf": 1e-6,  # content TF-IDF: per interaction (profiles) ...
    "tfidf_item": 1e-4,  # ... and per item (text features)
    "boost": 1e-7,  # gradient boosting: per tree x training row
    # Mult-VAE: per multiply-add of epochs x (interactions + users x items) x hidden, forward and backward and Adam
    # included. Measured on the 2-core VM while other jobs loaded it (load average 6-9): ML-100K defaults (60
    # epochs, 943 x 1682, 75k interactions, hidden 600) 21.8 s on one thread = 3.6e-10; a synthetic 20k users x 5k
    # items x 861k interactions, hidden 600, on two threads: 1 epoch 77.5 s = 1.3e-9, 3 epochs 290 s = 1.6e-9. The
    # rate is the larger matrix's (where a budget matters); it overestimates ML-100K about 4x.
    "vae": 1.5e-9,
    # SLIM (jobs/bench/slim_fit.py at the 20M shape, k=100, M=200; 2 cores shared, load ~5): pass 1 (pruned Gram,
    # scipy's single-threaded product) 85 s for 13.5G pairs; pass 2 25.7 s for 27k items' gathers and solves.
    "slim_pair": 6.3e-9,  # SLIM pass 1: one co-occurrence pair of X^T X, densified per block and pruned to top-M
    "slim_gather": 3.8e-8,  # SLIM pass 2: per item x k x M gathered into its G_NN
    "slim_solve": 1.8e-10,  # SLIM pass 2: per item x k^3 of its batched Cholesky solve
}
#: Every fit's fixed cost (imports, allocations, the first batch).
OVERHEAD = 0.05


def _popularity(c: Any, s: Shape) -> float:
    return RATES["scan"] * s.interactions


def _ease(c: Any, s: Shape) -> float:
    return RATES["dense_item"] * float(s.items) ** 3 + RATES["pair"] * s.pairs


def _neighbours(c: Any, s: Shape) -> float:
    return RATES["pair"] * s.pairs + RATES["topk_item"] * s.items * min(c.k, s.items)


def _slim(c: Any, s: Shape) -> float:
    k = min(c.k, max(s.items - 1, 1))
    m = min(c.candidates or 2 * c.k, s.items)
    return RATES["slim_pair"] * s.pairs + s.items * (RATES["slim_gather"] * k * m + RATES["slim_solve"] * float(k) ** 3)


def _ials(c: Any, s: Shape) -> float:
    return c.iterations * RATES["als"] * s.interactions * c.factors


def _sgd(c: Any, s: Shape) -> float:
    work = c.epochs * RATES["sgd"] * s.interactions * (1 + c.factors / 128)
    if getattr(c, "exposure", False):  # biased MF's exposure model: an iALS fit of its own
        work += c.exposure_iterations * RATES["als"] * s.interactions * c.exposure_factors
    return work


def _two_tower(c: Any, s: Shape) -> float:
    return c.epochs * RATES["tower"] * s.interactions * (c.dim / 64)


def _content(c: Any, s: Shape) -> float:
    return RATES["tfidf"] * s.interactions + RATES["tfidf_item"] * s.items


def _vae(c: Any, s: Shape) -> float:
    return c.epochs * RATES["vae"] * (s.interactions + float(s.users) * s.items) * c.hidden


def _hybrid(c: Any, s: Shape) -> float:
    from models.registry import model_class

    bases = 0.0
    for base in c.base_models:
        config = model_class(base).config_class(**c.base_params.get(base, {}))
        bases += estimate_fit_seconds(base, config, s) or 0.0
    folds = max(getattr(c, "label_folds", 1), 1)
    # Each fold's candidates train the ranker, at most max_train_users users over all folds.
    rows = min(s.users * folds, c.max_train_users) * c.candidates_per_model * len(c.base_models)
    # The bases are fitted once per fold (one label split: once) for the ranker's labels, then on all the data.
    return (folds + 1) * bases + RATES["boost"] * c.max_iter * rows


ESTIMATES: dict[str, Callable[[Any, Shape], float]] = {
    "popularity": _popularity,
    "ease": _ease,
    "itemknn": _neighbours,
    "rp3beta": _neighbours,
    "slim": _slim,
    "ials": _ials,
    "bpr": _sgd,
    "biased_mf": _sgd,
    "two_tower": _two_tower,
    "content_tfidf": _content,
    "hybrid": _hybrid,
    "vae": _vae,
}


def estimate_refit_seconds(model: str, config: Any, shape: Shape, speed: float = 1.0) -> float | None:
    """Estimated seconds of the champion's refit on data of ``shape``: a fit, or for models that refit from their
    holdout fit (``refit_iterations``, iALS) that many iterations."""
    if getattr(config, "refit_iterations", 0) > 0 and hasattr(config, "iterations"):
        config = replace(config, iterations=config.refit_iterations)
    return estimate_fit_seconds(model, config, shape, speed)


def estimate_fit_seconds(model: str, config: Any, shape: Shape, speed: float = 1.0) -> float | None:
    """Estimated seconds of one fit of ``model`` with ``config`` on data of ``shape`` (None: no estimate)."""
    estimate = ESTIMATES.get(model)
    if estimate is None:
        return None
    return (OVERHEAD + estimate(config, shape)) / max(speed, 1e-9)
