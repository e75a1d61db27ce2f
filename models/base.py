"""The one interface every recommender implements, after LensKit (config + component) and implicit (batch scoring).

A model is a small frozen ``Config`` dataclass (documented fields, plus ``search_space`` for tuning) and a
``Recommender`` built from it. ``fit`` trains on an ``Interactions`` matrix; ``score`` returns the scores of a
batch of users against every item as one (users x items) tensor. Seen-item masking, top-k, persistence and
evaluation are shared code (``models.topk``, ``models.evaluation``), not repeated per model.
"""

from __future__ import annotations

import os
import pickle
import time
import warnings
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import scipy.sparse as sp
import torch


def choose_device(explicit: str | None = None) -> torch.device:
    """The torch device: an explicit choice (the pipeline passes ``[train] device`` / RECS_DEVICE), then CUDA
    when present, else the CPU."""
    if explicit:
        return torch.device(explicit)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def scale_positive(scores: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``scores * weight`` where scores are positive; other scores keep their value, below every positive one.

    For a match times a prior (content x popularity, P(rated) x rating). Clipping the non-positive scores to 0
    instead would make one large tie, and which items of a tie make a top-k turns on float rounding, which
    differs between a batch of users and one user alone.
    """
    return torch.where(scores > 0, scores * weight, scores)


def csr_to_torch(matrix: sp.csr_matrix, device: torch.device | str = "cpu") -> torch.Tensor:
    """A scipy CSR matrix as a torch sparse CSR tensor (float32) on ``device``, for sparse x dense products."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        tensor = torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)),
            torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(matrix.data.astype(np.float32)),
            size=matrix.shape,
            check_invariants=False,
        )
    return tensor.to(device)


@dataclass(frozen=True)
class TrainOptions:
    """How to train, independent of what: the seed and the device (chosen once, see ``choose_device``)."""

    seed: int = 42
    device: str | None = None
    #: Optional callback(step, value) -> bool for iterative models: report a validation value after each
    #: epoch; returning True asks the model to stop early (Optuna pruning uses this).
    report: Any = None
    #: Optional callable(model) -> float: the validation value (e.g. nDCG on a holdout) that iterative models
    #: pass to ``report`` after each epoch, the model being scorable at that point. Without it, they report
    #: their training loss (lower is better) instead.
    validate: Any = None
    #: Optional ``time.monotonic()`` past which iterative models stop at the end of their epoch (a tuning
    #: budget); None: no limit.
    deadline: float | None = None
    #: The protocol the fit will be judged by (``[train] holdout_scope``: "global", "user", "random"), or None
    #: (unknown). Models that carve their own inner labels (the hybrid's ranker) carve them the same way.
    holdout_scope: str | None = None

    @property
    def torch_device(self) -> torch.device:
        return choose_device(self.device)

    def epoch_done(self, model: Any, step: int, loss: Any = None) -> bool:
        """Report epoch ``step`` (1-based) of ``model`` to ``report``; True means stop training now (also when
        ``deadline`` has passed).

        The value is ``validate(model)`` when given, else ``loss`` (a number, or a callable computing it, so
        that a loss costing a pass over the data is only computed when someone listens).
        """
        if self.deadline is not None and time.monotonic() > self.deadline:
            return True
        if self.report is None:
            return False
        if self.validate is not None:
            value = float(self.validate(model))
        else:
            value = float(loss() if callable(loss) else loss) if loss is not None else float("nan")
        return bool(self.report(step, value))

    def generator(self) -> np.random.Generator:
        return np.random.default_rng(self.seed)


@dataclass
class Interactions:
    """Users x items interactions with the external ids of both axes: what every model trains on.

    ``matrix`` holds one entry per (user, item) pair, its value the rating (duplicates already resolved,
    latest wins). Models for implicit feedback use ``implicit()``; rating models use the values.
    """

    matrix: sp.csr_matrix
    user_ids: np.ndarray  # row index -> external user id (str)
    item_ids: np.ndarray  # column index -> external item id (str)
    #: Optional item side data: a DataFrame indexed like item_ids with title/genres/description columns.
    item_features: Any = None
    #: Optional epoch seconds of each stored interaction, aligned with ``matrix.data`` (CSR order): the snapshot
    #: gives them, so models that use time (the hybrid's time features and time-ordered labels) can.
    rated_at: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.matrix = sp.csr_matrix(self.matrix, dtype=np.float32)
        if self.rated_at is not None:
            rated_at = np.asarray(self.rated_at, dtype=np.float64)
            if len(rated_at) != self.matrix.nnz:
                raise ValueError(f"rated_at has {len(rated_at)} timestamps for {self.matrix.nnz} interactions")
            if not self.matrix.has_sorted_indices:  # sort the timestamps along with the entries
                stamps = sp.csr_matrix((rated_at, self.matrix.indices.copy(), self.matrix.indptr.copy()),
                                       shape=self.matrix.shape)
                stamps.sort_indices()
                rated_at = stamps.data
            self.rated_at = rated_at
        self.matrix.sort_indices()
        if self.matrix.shape != (len(self.user_ids), len(self.item_ids)):
            raise ValueError(f"matrix shape {self.matrix.shape} does not match {len(self.user_ids)} users x {len(self.item_ids)} items")

    @property
    def n_users(self) -> int:
        return self.matrix.shape[0]

    @property
    def n_items(self) -> int:
        return self.matrix.shape[1]

    @property
    def nnz(self) -> int:
        return self.matrix.nnz

    def subset(self, matrix: sp.csr_matrix, keep: np.ndarray) -> Interactions:
        """The same users, items and features with ``matrix``: the entries of this one where ``keep`` (a mask over
        ``matrix.data``, CSR order), their timestamps kept."""
        rated_at = None if self.rated_at is None else self.rated_at[keep]
        return Interactions(matrix=matrix, user_ids=self.user_ids, item_ids=self.item_ids,
                            item_features=self.item_features, rated_at=rated_at)

    def implicit(self) -> sp.csr_matrix:
        """The same pattern with every value 1.0 (an interaction happened)."""
        out = self.matrix.copy()
        out.data[:] = 1.0
        return out

    @classmethod
    def from_frame(cls, frame: Any, user_col: str = "user_id", item_col: str = "item_id", rating_col: str = "rating") -> Self:
        """Build from a DataFrame of (user, item, rating) rows; ids are sorted so the result is deterministic."""
        users, user_idx = np.unique(frame[user_col].astype(str).to_numpy(), return_inverse=True)
        items, item_idx = np.unique(frame[item_col].astype(str).to_numpy(), return_inverse=True)
        values = frame[rating_col].to_numpy(dtype=np.float32) if rating_col in frame else np.ones(len(frame), np.float32)
        matrix = sp.csr_matrix((values, (user_idx, item_idx)), shape=(len(users), len(items)))
        return cls(matrix=matrix, user_ids=users.astype(object), item_ids=items.astype(object))


@dataclass(frozen=True)
class Config:
    """Base of model configs. Subclasses add documented fields and a ``search_space`` for Optuna."""

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Suggest field values from an Optuna trial; the default is no tunable fields."""
        return {}

    @classmethod
    def space_defaults(cls) -> dict[str, Any]:
        """The search space evaluated at the config's defaults (clipped into its ranges): a study's first trial.

        Empty when a suggest name is not a field name (the sampler then starts on its own).
        """
        try:
            return cls.search_space(_AtDefaults(asdict(cls())))
        except KeyError:
            return {}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _AtDefaults:
    """Stands in for an Optuna trial: each ``suggest_*`` answers the default of the config field of that name."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.defaults = defaults

    def suggest_float(self, name: str, low: float, high: float, **kwargs: Any) -> float:
        return min(max(float(self.defaults[name]), low), high)  # e.g. a weight decay of 0 on a log scale

    def suggest_int(self, name: str, low: int, high: int, **kwargs: Any) -> int:
        return min(max(int(self.defaults[name]), low), high)

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.defaults[name]


class Recommender(ABC):
    """A trainable scorer. Subclasses set ``name`` and ``config_class`` and implement ``fit`` and ``score``."""

    name: ClassVar[str]
    config_class: ClassVar[type[Config]] = Config
    #: True for models that predict rating values (explicit feedback) and can be scored by RMSE/MAE.
    predicts_ratings: ClassVar[bool] = False

    def __init__(self, config: Config | None = None, **fields: Any) -> None:
        if config is None:
            config = self.config_class(**fields)
        elif fields:
            raise TypeError("give either a config or keyword fields, not both")
        self.config = config
        self.n_users = 0
        self.n_items = 0
        self.device = torch.device("cpu")

    @abstractmethod
    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        """Train on ``data``; sets ``n_users`` / ``n_items`` to its shape. Returns self."""

    def refit(self, data: Interactions, previous: Recommender, options: TrainOptions | None = None) -> Self:
        """Train on ``data`` (all of tonight's interactions), given ``previous``: this configuration fitted on the
        holdout's training part of the same users and items. By default a fresh ``fit``; models that can start
        from where ``previous`` ended (iALS: its factors) set ``warm_refit`` and override this."""
        return self.fit(data, options)

    #: True when ``refit`` uses the previous fit: the pipeline then keeps the holdout fit for the champion's refit.
    warm_refit: ClassVar[bool] = False

    @abstractmethod
    def score(self, users: np.ndarray) -> torch.Tensor:
        """Scores of ``users`` (row indices of the training matrix) for every item: float32 (len(users), n_items).

        Higher is better. Seen items are NOT masked here; ``models.topk`` does that for every model.
        """

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        """Similarity of ``items`` (column indices) to every item: float32 (len(items), n_items), higher is closer.

        Optional: models with an item-item view (item-kNN, EASE, factor models, content) override it; the
        shared top-k masks each item itself. ``supports_similar_items`` tells which do.
        """
        raise NotImplementedError(f"{self.name} has no item-item similarity")

    @property
    def supports_similar_items(self) -> bool:
        return type(self).similar_items is not Recommender.similar_items

    def unit_item_vectors(self) -> torch.Tensor | None:
        """(n_items, d) float32 rows U with ``similar_items(items) == U[items] @ U.T``, for models whose item-item
        view is a cosine of item vectors (the factor models); None for the others (the default). It lets diversity
        re-ranking build a pool's similarities from the pool's own vectors, without a row against every item."""
        return None

    def predicted_ratings(self, users: np.ndarray) -> torch.Tensor:
        """Rating models (``predicts_ratings``): the predicted rating of ``users`` for every item, the values that
        RMSE and MAE judge, which need not rank like ``score``. By default the scores themselves."""
        return self.score(users)

    def predict(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted values for (user, item) pairs, gathered from ``predicted_ratings``."""
        out = np.empty(len(users), dtype=np.float32)
        order = np.argsort(users, kind="stable")
        uniq, starts = np.unique(users[order], return_index=True)
        bounds = list(starts[1:]) + [len(order)]
        scores = self.predicted_ratings(uniq).cpu().numpy()
        for row, (lo, hi) in enumerate(zip(starts, bounds)):
            idx = order[lo:hi]
            out[idx] = scores[row, items[idx]]
        return out

    # Persistence: a pickle of the trained component with its tensors on the CPU, so an artifact written on a
    # GPU worker loads on a CPU-only one. Writing it atomically is the caller's business (the pipeline saves to
    # a temporary name and renames, ``jobs.files.replacing``).
    def save(self, path: str | os.PathLike[str]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        device = self.device
        self.to(torch.device("cpu"))
        try:
            with path.open("wb") as fh:
                pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        finally:
            self.to(device)
        return path

    @staticmethod
    def load(path: str | os.PathLike[str], device: str | None = None) -> Recommender:
        with Path(path).open("rb") as fh:
            model = pickle.load(fh)
        return model.to(choose_device(device))

    def to(self, device: torch.device) -> Self:
        """Move every tensor attribute to ``device``."""
        for key, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                setattr(self, key, value.to(device))
        self.device = device
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"
