"""Hybrid: candidates from several base models, re-ranked by a gradient-boosted ranker (learning to rank).

Bases: ``base_models`` names from the registry (default EASE + item-kNN + content TF-IDF + popularity). Names this checkout
lacks, 'hybrid' itself, and 'content_tfidf' when there are no item features are skipped; if nothing is left,
popularity is used. Each base nominates its top ``candidates_per_model`` unseen items per user; the union is the
user's candidate set. ``jobs.bench.ranker`` compares base sets, rankers and objectives on MovieLens-100K's two
benchmarks (docs/benchmarks.md, "Hybrid ranker"): EASE + RP3beta + iALS + popularity, or adding Mult-VAE, did not
beat these bases on the validation splits, and on the time-ordered one they lost to them.

Features of a (user, candidate) pair
    per base: its score, its rank among the user's unseen items (candidates_per_model + 1 when outside its top),
    and the score's gap to that base's best score for the user (scores are not comparable across users);
    rank agreement (``agreement``): how many bases nominate the item, and its best rank among them;
    item popularity and user activity (log of count relative to the mean, the same meaning on a subsample);
    genre match (cosine between the user's genre profile and the item's genres);
    embedding match, when ``item_embeddings_path`` is set: the cosine between the item's external vector (a
    Parquet of item_id + vector, e.g. image or text embeddings) and the user's profile, the normalised sum of
    the vectors of the user's history items. Missing vectors give NaN, which the booster handles natively;
    time features (``time_features``, where the data carry timestamps, ``models.recency``): the item's popularity
    in the ``recent_days`` before the user's latest interaction, the item's age then, the user's idle time since.

Training on validation data only (stacking without leakage; the drawings are ``models.labels``'). With
``label_folds`` = k > 1 (the default, 5), cross-fitting: each user's interactions are dealt at
random (seeded by ``TrainOptions.seed``) into k folds; for each fold the bases are fitted on the other folds,
nominate candidates that exclude them, and a candidate is positive when it is in the user's held-out fold; the
ranker trains on the candidates of all k folds (each interaction a label once, at most ``max_train_users`` users
over all folds). With ``label_folds`` = 1, one split: a ``label_fraction`` of each user's interactions (at least one
for users with two or more, never all) is the label part, the rest the fit part. With ``label_order`` = "time"
and timestamps, the labels are each user's latest ``label_fraction`` instead, in k windows going back in time,
the bases of each fitted on what the user did before it (the time-ordered protocol). Cross-fitting gives the ranker k
times the labels of one split and bases fitted on (k-1)/k of the data, nearer the refit's: on MovieLens-100K
(Microsoft protocol) validation nDCG@10 0.1823 against 0.1704, the bases fitted 6 times instead of twice. The
ranker (``ranker``): scikit-learn's ``HistGradientBoostingClassifier`` (P(positive | features)), or LightGBM
(``objective`` binary or lambdarank) where it imports; LightGBM did not beat it in ``jobs.bench.ranker``, so it is
no dependency. Then **the refit on all data**: every base is refitted on all the data, and serving uses those
bases, the side features (popularity, activity, history) from all the data, and the ranker as trained.

``score(users)``: the ranker's score in [0, 1] for each candidate (a probability; lambdarank's through a logistic);
every other item gets a finite score in [-2, -1] that follows popularity, so a top-k larger than the candidate set
still fills with sensible items. Users are scored in sub-chunks of ``SUB_CHUNK`` so only a few (sub-chunk x items)
base score matrices are alive.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any, Self

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.preprocessing import normalize

from models.base import Config, Interactions, Recommender, TrainOptions
from models.content import genre_matrix, load_item_embeddings
from models.labels import Masks, fold_masks, pairs_in, part, random_masks, time_masks
from models.recency import NAMES as TIME_FEATURES
from models.recency import Recency
from models.topk import mask_seen

log = logging.getLogger(__name__)

SUB_CHUNK = 512
RANKERS = ("hgb", "lightgbm")
OBJECTIVES = ("binary", "lambdarank")
LABEL_ORDERS = ("auto", "random", "time")
#: The holdout protocols whose labels are each user's latest (``label_order`` "auto").
TIME_SCOPES = ("global", "user")


def train_ranker(x: np.ndarray, y: np.ndarray, groups: np.ndarray, cfg: HybridConfig, seed: int) -> tuple[Any, str]:
    """(fitted ranker, its kind) on candidate features ``x`` and labels ``y``; ``groups``: rows per user, in order.

    Kinds: "hgb", "lightgbm-binary", "lightgbm-lambdarank". LightGBM runs deterministic (same seed, same
    model) on torch's thread count (its own default, every core, oversubscribes a shared machine); where it does
    not import, scikit-learn's classifier stands in."""
    if cfg.ranker == "lightgbm":
        try:
            import lightgbm
        except ImportError:
            log.warning("hybrid: lightgbm does not import here; the ranker is scikit-learn's HistGradientBoosting")
        else:
            params = dict(n_estimators=cfg.max_iter, learning_rate=cfg.learning_rate, num_leaves=cfg.max_leaf_nodes,
                          min_child_samples=cfg.min_samples_leaf, random_state=seed, deterministic=True,
                          force_row_wise=True, verbose=-1, n_jobs=torch.get_num_threads())
            if cfg.objective == "lambdarank":
                ranker = lightgbm.LGBMRanker(objective="lambdarank", **params).fit(x, y.astype(np.int32), group=groups)
                return ranker, "lightgbm-lambdarank"
            return lightgbm.LGBMClassifier(objective="binary", **params).fit(x, y), "lightgbm-binary"
    ranker = HistGradientBoostingClassifier(max_iter=cfg.max_iter, learning_rate=cfg.learning_rate,
                                            max_leaf_nodes=cfg.max_leaf_nodes, min_samples_leaf=cfg.min_samples_leaf,
                                            random_state=seed)
    return ranker.fit(x, y), "hgb"


def ranker_scores(ranker: Any, kind: str | None, features: np.ndarray) -> np.ndarray:
    """The ranker's scores of candidate rows, in (0, 1): a probability, or a lambdarank score through a logistic."""
    if kind == "lightgbm-lambdarank":
        return 1.0 / (1.0 + np.exp(-ranker.predict(features)))
    return ranker.predict_proba(features)[:, 1]


@dataclass(frozen=True)
class HybridConfig(Config):
    #: Registry names of the base models whose candidates and scores the ranker combines.
    #: item-kNN is in by default: it is the best single model on the time-based holdout of MovieLens-100K and
    #: ranks differently from EASE, so the ranker gets a signal the others lack.
    base_models: tuple[str, ...] = ("ease", "itemknn", "content_tfidf", "popularity")
    #: Config field values per base model, e.g. {"ease": {"regularization": 500.0}}; unnamed fields keep defaults.
    #: The content base uses the mean profile by default: its sparse cosines are exact and tie at exactly 0,
    #: where the learned profile's dense scores gave the ranker noisier candidates (planted-answer hit rate
    #: 0.97 against 0.63; ML-100K nDCG@10 0.472 against 0.475).
    base_params: dict[str, dict[str, Any]] = field(default_factory=lambda: {"content_tfidf": {"profile": "mean"}})
    #: Candidates each base nominates per user (the union is re-ranked).
    candidates_per_model: int = 50
    #: Fraction of each user's interactions held out as labels when training the ranker (``label_folds`` = 1).
    label_fraction: float = 0.2
    #: Above 1, cross-fitting: each user's interactions fall into this many random folds, and the ranker trains on
    #: the candidates of every fold in turn, the bases fitted on the other folds (each interaction a label once;
    #: the bases fitted ``label_folds`` times, then once more on all data).
    label_folds: int = 5
    #: Optional Parquet of item_id + vector (external item embeddings, e.g. image or text) for the embedding match.
    item_embeddings_path: str | None = None
    #: Boosting iterations of the ranker (early stopping, on above 10 000 training rows, may use fewer).
    max_iter: int = 100
    #: Learning rate of the ranker.
    learning_rate: float = 0.05
    #: Leaves per tree of the ranker.
    max_leaf_nodes: int = 15
    #: Fewest training rows per leaf (positives are a few percent of the rows: keep leaves large).
    min_samples_leaf: int = 100
    #: Most users whose candidates train the ranker (a seeded sample beyond that bounds time and memory).
    max_train_users: int = 10000
    #: The ranker: "hgb" (scikit-learn's HistGradientBoostingClassifier) or "lightgbm" (LightGBM; "hgb" is used,
    #: with a warning, where lightgbm does not import).
    ranker: str = "hgb"
    #: The ranker's objective: "binary" (P(positive), log loss) or "lambdarank" (LightGBM only: per-user
    #: LambdaMART on nDCG; its scores are mapped into (0, 1) by a logistic).
    objective: str = "binary"
    #: Rank-agreement features: how many bases nominate the candidate, and its best rank among them.
    agreement: bool = True
    #: How labels are drawn: "random" (each user's interactions dealt at random, ``label_folds`` folds or one
    #: ``label_fraction``), or "time" where the data carry timestamps (each user's latest ``label_fraction``, in
    #: ``label_folds`` windows going back from the newest, each fitted on what the user did before it:
    #: ``models.labels.time_masks``); without timestamps "time" draws at random. "auto": the order of the
    #: protocol the fit is judged by (``TrainOptions.holdout_scope``): "time" under "global" and "user",
    #: "random" under "random" or none (``jobs.bench.ranker``: on the time-ordered benchmark "time" gained
    #: validation nDCG@10 0.0165 +- 0.0035, on the random one it lost 0.0655: the order must follow the protocol).
    label_order: str = "auto"
    #: Time features where the data carry timestamps (``models.recency``): the item's popularity and age at the
    #: user's latest interaction, and the user's idle time since (with "auto" labels, pooled over benchmarks (a)
    #: and (b): +0.0021 validation nDCG@10 over the same without them).
    time_features: bool = True
    #: The window of the item's recent popularity, in days before the user's latest interaction.
    recent_days: float = 30.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_models", tuple(self.base_models))  # lists from TOML / Params
        if self.ranker not in RANKERS:
            raise ValueError(f"hybrid ranker must be one of {RANKERS}, not {self.ranker!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"hybrid objective must be one of {OBJECTIVES}, not {self.objective!r}")
        if self.objective == "lambdarank" and self.ranker != "lightgbm":
            raise ValueError("hybrid objective 'lambdarank' needs ranker 'lightgbm'")
        if self.label_order not in LABEL_ORDERS:
            raise ValueError(f"hybrid label_order must be one of {LABEL_ORDERS}, not {self.label_order!r}")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "candidates_per_model": trial.suggest_int("candidates_per_model", 20, 200, log=True),
            "label_folds": trial.suggest_int("label_folds", 2, 8),
            "max_iter": trial.suggest_int("max_iter", 50, 400, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.3, log=True),
            "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 7, 63, log=True),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 20, 500, log=True),
        }


class Hybrid(Recommender):
    name = "hybrid"
    config_class = HybridConfig

    def usable_bases(self, data: Interactions) -> list[str]:
        from models.registry import available

        present = set(available())
        names = []
        for name in self.config.base_models:
            if name == self.name or name not in present:
                log.warning("hybrid: base model %r is not available here; skipped", name)
            elif name == "content_tfidf" and data.item_features is None:
                log.warning("hybrid: no item features, so base model 'content_tfidf' is skipped")
            elif name not in names:
                names.append(name)
        return names or ["popularity"]

    def _fit_bases(self, data: Interactions, options: TrainOptions) -> list[Recommender]:
        from models.registry import build

        return [build(name, self.config.base_params.get(name)).fit(data, options) for name in self.base_names]

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        cfg = self.config
        base_options = replace(options, report=None)
        self.n_users, self.n_items = data.matrix.shape
        self.device = options.torch_device
        self.base_names = self.usable_bases(data)
        genres, _ = genre_matrix(data)
        if genres.shape[1] == 0:  # no item has a genre: one empty column, so every genre match is 0
            genres = sp.csr_matrix((data.n_items, 1), dtype=np.float32)
        self.item_genres = normalize(genres, norm="l2", axis=1).astype(np.float32)
        self.embeddings = None
        if cfg.item_embeddings_path:
            self.embeddings, self.has_embedding = load_item_embeddings(cfg.item_embeddings_path, data.item_ids)
        self.feature_names = [f"{name}_{kind}" for name in self.base_names for kind in ("score", "rank", "gap")]
        self.feature_names += ["n_nominating", "best_rank"] if cfg.agreement else []
        self.feature_names += ["item_popularity", "user_activity", "genre_match"]
        self.feature_names += ["embedding_match"] if self.embeddings is not None else []
        self.timed = cfg.time_features and data.rated_at is not None
        self.feature_names += list(TIME_FEATURES) if self.timed else []

        rng = options.generator()
        holdouts = self._label_masks(data, options, rng)
        per_fold_users = max(cfg.max_train_users // len(holdouts), 1)
        x_parts, y_parts, group_parts = [], [], []
        for fit_mask, label_mask in holdouts:
            fit_data = data.subset(part(data.matrix, fit_mask), fit_mask)
            label_part = part(data.matrix, label_mask)
            self.bases = self._fit_bases(fit_data, base_options)
            self._set_side(fit_data)
            users = np.flatnonzero(np.diff(label_part.indptr) > 0)
            if len(users) > per_fold_users:
                users = np.sort(rng.choice(users, per_fold_users, replace=False))
            for lo in range(0, len(users), SUB_CHUNK):
                block = users[lo : lo + SUB_CHUNK]
                rows, cols, features = self._candidate_features(block)
                x_parts.append(features)
                y_parts.append(pairs_in(label_part, block[rows], cols))
                group_parts.append(np.bincount(rows, minlength=len(block)))  # rows come sorted by user
        x = np.concatenate(x_parts) if x_parts else np.zeros((0, len(self.feature_names)), np.float32)
        y = np.concatenate(y_parts) if y_parts else np.zeros(0, bool)
        groups = np.concatenate(group_parts) if group_parts else np.zeros(0, np.int64)
        self.ranker, self.ranker_kind = None, None
        if y.any() and not y.all():
            self.ranker, self.ranker_kind = train_ranker(x, y, groups[groups > 0], cfg, options.seed)
        else:
            log.warning("hybrid: no usable labels among %d candidates; scores fall back to the first base", len(y))
        self.train_rows, self.train_positive_rate = len(y), float(y.mean()) if len(y) else float("nan")

        self.bases = self._fit_bases(data, base_options)
        self._set_side(data)
        return self

    def _label_masks(self, data: Interactions, options: TrainOptions, rng: np.random.Generator) -> list[Masks]:
        """(fit, label) masks over ``data``'s entries, as ``label_order``, ``label_folds`` and ``label_fraction`` say."""
        cfg = self.config
        order = cfg.label_order
        if order == "auto":
            order = "time" if options.holdout_scope in TIME_SCOPES and data.rated_at is not None else "random"
        if order == "time":
            if data.rated_at is not None:
                return time_masks(data.matrix, data.rated_at, cfg.label_folds, cfg.label_fraction)
            log.warning("hybrid: label_order 'time' but the data carry no timestamps; labels are drawn at random")
        if cfg.label_folds > 1:
            return fold_masks(data.matrix, cfg.label_folds, rng)
        return [random_masks(data.matrix, cfg.label_fraction, rng)]

    def _set_side(self, data: Interactions) -> None:
        matrix = data.matrix
        self.recency = Recency.of(matrix, data.rated_at, self.config.recent_days) if self.timed else None
        n_users, n_items = matrix.shape
        nnz = max(matrix.nnz, 1)
        self.history = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
        self.history.data[:] = 1.0
        item_counts = np.bincount(self.history.indices, minlength=n_items).astype(np.float32)
        self.item_popularity = np.log1p(item_counts * n_items / nnz)
        self.user_activity = np.log1p(np.diff(self.history.indptr) * n_users / nnz).astype(np.float32)
        self.fallback = (item_counts / max(item_counts.max(), 1.0) - 2.0).astype(np.float32)

    def _candidate_features(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rows into users, item columns, features) of the users' candidate pairs."""
        n, n_items = len(users), self.n_items
        k = min(self.config.candidates_per_model, n_items)
        scores, tops, tops_values = [], [], []
        nominated = torch.zeros((n, n_items), dtype=torch.bool)
        for base in self.bases:
            # A copy: masking writes into it, and a base may hand out a view of its own state.
            s = base.score(users).to("cpu", torch.float32, copy=True).contiguous()
            mask_seen(s, self.history, users)
            values, top = torch.topk(s, k, dim=1)
            unseen = values > float("-inf")  # users with fewer than k unseen items
            nominated[torch.arange(n)[:, None].expand_as(top)[unseen], top[unseen]] = True
            scores.append(s)
            tops.append(top)
            tops_values.append(values)
        rows, cols = nominated.nonzero(as_tuple=True)
        columns, ranks = [], []
        for s, top, values in zip(scores, tops, tops_values, strict=True):
            rank = torch.full((n, n_items), k + 1, dtype=torch.float32)
            rank.scatter_(1, top, torch.arange(1, k + 1, dtype=torch.float32).expand(n, k))
            value = s[rows, cols]
            best = values[:, 0][rows]
            ranks.append(rank[rows, cols])
            columns += [value, ranks[-1], value - best]
        if self.config.agreement:
            stacked = torch.stack(ranks, dim=1)
            columns += [(stacked <= k).sum(dim=1).to(torch.float32), stacked.min(dim=1).values]
        rows_np, cols_np = rows.numpy(), cols.numpy()
        hist = self.history[users]
        genre_profile = normalize(hist @ self.item_genres, norm="l2", axis=1)
        genre_match = np.asarray(genre_profile[rows_np].multiply(self.item_genres[cols_np]).sum(axis=1)).ravel()
        extra = [self.item_popularity[cols_np], self.user_activity[users[rows_np]], genre_match]
        if self.embeddings is not None:
            profile = hist @ self.embeddings
            norms = np.linalg.norm(profile, axis=1, keepdims=True)
            profile = np.divide(profile, norms, out=np.zeros_like(profile), where=norms > 0)
            match = (profile[rows_np] * self.embeddings[cols_np]).sum(axis=1)
            match[~self.has_embedding[cols_np] | (norms[rows_np, 0] == 0)] = np.nan
            extra.append(match)
        if getattr(self, "recency", None) is not None:  # models pickled before time features have none
            extra += self.recency.features(users[rows_np], cols_np)
        features = np.column_stack([c.numpy() for c in columns] + [np.asarray(e, dtype=np.float32) for e in extra])
        return rows_np, cols_np, features.astype(np.float32)

    def score(self, users: np.ndarray) -> torch.Tensor:
        users = np.asarray(users, dtype=np.int64)
        out = torch.from_numpy(np.tile(self.fallback, (len(users), 1)))
        for lo in range(0, len(users), SUB_CHUNK):
            block = users[lo : lo + SUB_CHUNK]
            rows, cols, features = self._candidate_features(block)
            if self.ranker is not None:
                value = ranker_scores(self.ranker, self.ranker_kind, features)
            else:  # no ranker could be trained: the first base's rank, mapped into (0, 1]
                value = 1.0 / features[:, 1]
            out[torch.from_numpy(rows + lo), torch.from_numpy(cols)] = torch.from_numpy(value.astype(np.float32))
        return out

    def to(self, device: torch.device) -> Self:
        super().to(device)
        for base in getattr(self, "bases", []):
            base.to(device)
        return self
