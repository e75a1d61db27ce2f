"""Content-based recommender over item text (TF-IDF), plus the item side-data helpers other models share.

Item vectors: a TF-IDF block over title + description (words, optional bigrams) and a TF-IDF block over the
genre labels (each '|'-separated genre is one token, so "Sci-Fi" stays whole). Each block is L2-normalised,
the genre block is multiplied by ``genre_weight`` (0.5 by default: a genre is shared by hundreds of items, and
the title's words, a franchise or a year, single out fewer, closer ones; measured on MovieLens-100K), and the concatenation is L2-normalised again: item . item is then the cosine between two items (sparse).

A user's profile is the weighted sum of the vectors of the items in the user's history (weights: the rating,
the rating minus the user's mean, or 1), L2-normalised; its cosine with an item, in [-1, 1], is the item's
content match. Text alone cannot tell a classic from an obscure film of the same genre and decade, and ranked by
content match alone the top-10 fills with the obscure ones (on MovieLens-100K a fifth of popularity's nDCG@10).
So a positive content match is multiplied by a popularity prior (1 + n_i) ** popularity_exponent, n_i the item's
interactions (``models.base.scale_positive``: negative matches keep their order, below every positive one); 0
ranks by content alone. Items nobody has interacted with yet (cold items) take the median item's prior, so that
the content model still brings them to the users whose taste they match.
``similar_items`` is the item-item cosine that feeds the ``similar_items`` table (method 'content_tfidf').

``profile = "learned"`` reads the taste from every item instead of the history alone: a ridge regression per
user of "rated or not" (confidence 1 + profile_alpha for rated items) on the item vectors reduced to
``profile_dims`` by truncated SVD, over all items: features that the user's many unrated items share count
against them. It is implicit ALS's user side with the item factors fixed to content (``models.ials``'s
conjugate-gradient solver), so cold items are still scored from their text alone.

Memory: the item vectors are sparse (items x vocabulary); scoring a chunk of users makes one dense
(chunk x vocabulary) profile block and the (chunk x items) scores, never an items x items matrix.

Helpers used by the two-tower and hybrid models too: ``item_frame`` (the item text aligned to the item
columns), ``genre_matrix`` (multi-hot genres) and ``load_item_embeddings`` (external vectors from Parquet).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

from models.base import Config, Interactions, Recommender, TrainOptions, csr_to_torch, scale_positive
from models.ials import Tiles, conjugate_gradient_pass

TEXT_COLUMNS = ("title", "genres", "description")
#: Genre labels that mean "none" (MovieLens writes "(no genres listed)").
NO_GENRE = {"", "(no genres listed)", "unknown", "nan", "none"}


# --- item side data, shared with models.two_tower and models.hybrid ---------------------------------------


def item_frame(data: Interactions) -> pd.DataFrame | None:
    """``data.item_features`` as strings aligned to the item columns (missing items/fields: ""), or None."""
    features = data.item_features
    if features is None:
        return None
    frame = pd.DataFrame(features).copy()
    if "item_id" in frame.columns and not frame.index.astype(str).isin(data.item_ids.astype(str)).any():
        frame = frame.set_index("item_id")
    frame.index = frame.index.astype(str)
    frame = frame[~frame.index.duplicated(keep="last")].reindex(pd.Index(data.item_ids.astype(str)))
    out = pd.DataFrame(index=frame.index)
    for column in TEXT_COLUMNS:
        out[column] = frame[column].fillna("").astype(str) if column in frame.columns else ""
    return out


def split_genres(text: str) -> list[str]:
    """'Action|Sci-Fi' -> ['action', 'sci-fi']; empty and 'no genre' labels dropped."""
    return [g for g in (part.strip().lower() for part in text.split("|")) if g not in NO_GENRE]


def genre_matrix(data: Interactions) -> tuple[sp.csr_matrix, list[str]]:
    """Multi-hot genres (items x genres, float32 CSR) and the genre names; zero columns when there are none."""
    frame = item_frame(data)
    genres_of = [split_genres(text) for text in frame["genres"]] if frame is not None else [[] for _ in range(data.n_items)]
    names = sorted({g for genres in genres_of for g in genres})
    column = {name: j for j, name in enumerate(names)}
    rows = np.repeat(np.arange(len(genres_of)), [len(g) for g in genres_of])
    cols = np.array([column[g] for genres in genres_of for g in genres], dtype=np.int64)
    matrix = sp.csr_matrix((np.ones(len(cols), np.float32), (rows, cols)), shape=(data.n_items, len(names)))
    matrix.data[:] = 1.0  # an item listing a genre twice is still multi-hot
    return matrix, names


def load_item_embeddings(path: str | os.PathLike[str], item_ids: np.ndarray, column: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """External item vectors from a Parquet file of ``item_id`` + one vector column (list of floats).

    Returns (vectors, present): float32 (n_items, dim) rows aligned to ``item_ids`` and L2-normalised, zero
    for items the file does not mention, and a boolean mask of the items it does. ``column`` names the vector
    column; by default 'vector' or 'embedding' if present, else the only column besides item_id.
    """
    frame = pd.read_parquet(path)
    if "item_id" not in frame.columns:
        raise ValueError(f"{path}: item embeddings need an item_id column, found {list(frame.columns)}")
    if column is None:
        others = [c for c in frame.columns if c != "item_id"]
        named = [c for c in ("vector", "embedding") if c in others]
        if not named and len(others) != 1:
            raise ValueError(f"{path}: cannot tell which column holds the vectors among {others}; name it 'vector'")
        column = (named or others)[0]
    frame = frame.drop_duplicates("item_id", keep="last")
    lengths = frame[column].map(len)
    if lengths.nunique() > 1:
        raise ValueError(f"{path}: vectors in column {column!r} have different lengths {sorted(lengths.unique())[:5]}")
    dim = int(lengths.iloc[0]) if len(frame) else 0
    position = pd.Series(np.arange(len(item_ids)), index=pd.Index(np.asarray(item_ids).astype(str)))
    where = position.reindex(frame["item_id"].astype(str).to_numpy())
    known = where.notna().to_numpy()
    vectors = np.zeros((len(item_ids), dim), dtype=np.float32)
    if known.any():
        values = np.stack(frame[column].to_numpy()[known]).astype(np.float32)
        vectors[where.to_numpy()[known].astype(np.int64)] = values
    norms = np.linalg.norm(vectors, axis=1)
    present = norms > 0
    vectors[present] /= norms[present, None]
    return vectors, present


# --- the model --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContentTFIDFConfig(Config):
    #: Largest vocabulary of the title + description block (most frequent terms kept); None keeps all.
    max_features: int | None = 20000
    #: Longest word n-gram of the title + description block: 1 = words, 2 = words and bigrams.
    ngram_max: int = 1
    #: Weight of the genre block relative to the text block (both unit length before weighting).
    genre_weight: float = 0.5
    #: Ignore text terms that appear in fewer than this many items.
    min_df: int = 1
    #: Use 1 + log(tf) instead of raw term counts.
    sublinear_tf: bool = True
    #: How history items add up into the profile: 'rating' (the rating value), 'centred' (rating minus the
    #: user's mean; users whose ratings are all equal count every item once) or 'binary' (every item once).
    weighting: str = "rating"
    #: Exponent of the popularity prior (1 + interactions) ** e that multiplies the content match; 0 ranks by
    #: content alone (and keeps negative matches, e.g. of 'centred' profiles, in the order).
    popularity_exponent: float = 1.0
    #: 'mean': the profile is the weighted mean of the history's item vectors; 'learned': a per-user ridge
    #: regression over every item (see the module doc; ``weighting`` then does not apply).
    profile: str = "learned"
    #: 'learned': dimensions the item vectors are reduced to (truncated SVD) before the regression.
    profile_dims: int = 128
    #: 'learned': L2 regularisation of each user's regression.
    profile_regularization: float = 10.0
    #: 'learned': a rated item counts 1 + profile_alpha against 1 for an unrated one.
    profile_alpha: float = 1.0
    #: 'learned': conjugate-gradient steps of the regression (from zero; profile_dims + 1 steps solve it exactly).
    profile_cg_steps: int = 40

    def __post_init__(self) -> None:
        if self.weighting not in ("rating", "centred", "binary"):
            raise ValueError(f"weighting must be 'rating', 'centred' or 'binary', not {self.weighting!r}")
        if self.profile not in ("mean", "learned"):
            raise ValueError(f"profile must be 'mean' or 'learned', not {self.profile!r}")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "max_features": trial.suggest_int("max_features", 2000, 50000, log=True),
            "ngram_max": trial.suggest_int("ngram_max", 1, 2),
            "genre_weight": trial.suggest_float("genre_weight", 0.25, 8.0, log=True),
            "min_df": trial.suggest_int("min_df", 1, 5),
            "weighting": trial.suggest_categorical("weighting", ["rating", "centred", "binary"]),
            "popularity_exponent": trial.suggest_float("popularity_exponent", 0.0, 2.0),
            "profile": trial.suggest_categorical("profile", ["mean", "learned"]),
            "profile_regularization": trial.suggest_float("profile_regularization", 0.1, 100.0, log=True),
        }


def _text_block(texts: list[str], vectorizer: TfidfVectorizer, n_items: int) -> sp.csr_matrix:
    """TF-IDF rows (L2-normalised by the vectorizer); an empty vocabulary gives a block with no columns."""
    try:
        return sp.csr_matrix(vectorizer.fit_transform(texts), dtype=np.float32)
    except ValueError:  # "empty vocabulary": no item has any text in this field
        return sp.csr_matrix((n_items, 0), dtype=np.float32)


class ContentTFIDF(Recommender):
    """Cosine between TF-IDF item vectors and the user's rating-weighted profile; needs ``item_features``."""

    name = "content_tfidf"
    config_class = ContentTFIDFConfig

    def fit(self, data: Interactions, options: TrainOptions | None = None) -> Self:
        options = options or TrainOptions()
        frame = item_frame(data)
        if frame is None:
            raise ValueError("content_tfidf needs item features (title, genres, description): Interactions.item_features is None")
        cfg = self.config
        text = (frame["title"] + " " + frame["description"]).tolist()
        text_block = _text_block(
            text,
            TfidfVectorizer(
                max_features=cfg.max_features,
                ngram_range=(1, cfg.ngram_max),
                min_df=cfg.min_df,
                sublinear_tf=cfg.sublinear_tf,
                stop_words="english",
                dtype=np.float32,
            ),
            data.n_items,
        )
        genre_block = _text_block(
            frame["genres"].tolist(),
            TfidfVectorizer(tokenizer=split_genres, token_pattern=None, lowercase=False, dtype=np.float32),
            data.n_items,
        )
        vectors = sp.hstack([text_block, genre_block * np.float32(cfg.genre_weight)], format="csr", dtype=np.float32)
        self.item_vectors = normalize(vectors, norm="l2", axis=1).astype(np.float32)
        self.profile_weights = self._profile_weights(data.matrix)
        counts = np.bincount(data.matrix.indices, minlength=data.n_items).astype(np.float32)
        counts[counts == 0] = np.median(counts[counts > 0]) if (counts > 0).any() else 0.0
        self.n_users, self.n_items = data.matrix.shape
        self.device = options.torch_device
        self.prior = torch.from_numpy((1.0 + counts) ** np.float32(cfg.popularity_exponent)).to(self.device)
        self.user_vectors = self.item_dense = None
        if cfg.profile == "learned":
            self._learn_profiles(data.matrix)
        return self

    def _learn_profiles(self, matrix: sp.csr_matrix) -> None:
        """user_vectors (users x dims) solving each user's ridge regression on item_dense (items x dims)."""
        cfg = self.config
        vectors = self.item_vectors
        dims = min(cfg.profile_dims, min(vectors.shape) - 1)
        if dims >= 1:
            dense = TruncatedSVD(dims, random_state=0).fit_transform(vectors)
        else:  # a one-term vocabulary: nothing to reduce
            dense = vectors.toarray()
        self.item_dense = torch.from_numpy(np.ascontiguousarray(dense, dtype=np.float32)).to(self.device)
        rated = matrix.tocsr().astype(np.float32)
        rated.sort_indices()
        confidence = np.full(rated.nnz, 1.0 + cfg.profile_alpha, dtype=np.float32)
        by_user = Tiles(rated, confidence, chunk_rows=262_144, block_cols=2**31 - 1, device=self.device)
        self.user_vectors = torch.zeros(rated.shape[0], self.item_dense.shape[1], device=self.device)
        with torch.inference_mode():
            conjugate_gradient_pass(by_user, self.user_vectors, self.item_dense, cfg.profile_regularization,
                                    cfg.profile_cg_steps)

    def _profile_weights(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        """users x items weights of each history item in the user's profile."""
        weights = matrix.copy().astype(np.float32)
        if self.config.weighting == "binary":
            weights.data[:] = 1.0
        elif self.config.weighting == "centred":
            counts = np.diff(weights.indptr)
            means = np.asarray(weights.sum(axis=1)).ravel() / np.maximum(counts, 1)
            weights.data -= np.repeat(means, counts).astype(np.float32)
            flat = np.repeat(np.abs(weights).max(axis=1).toarray().ravel() == 0, counts)
            weights.data[flat] = 1.0
        return weights

    def profiles(self, users: np.ndarray) -> sp.csr_matrix:
        """L2-normalised profile vectors (users x vocabulary, sparse) of ``users``; zero rows for empty histories."""
        return normalize(self.profile_weights[np.asarray(users)] @ self.item_vectors, norm="l2", axis=1)

    def _against_items(self, rows: sp.csr_matrix) -> torch.Tensor:
        """rows (n x vocabulary) . every item vector -> float32 (n, n_items) on the model's device, as the transposed
        view of the (n_items, n) product; a caller that needs rows copies them once (``score``) or into its own
        buffer (``jobs.score.similar``). On the CPU scipy's sparse x dense product, one thread, runs twice as fast
        as torch's on two (1,024 rows against 100k items: 0.28 s against 0.59 s); a GPU keeps torch's."""
        dense = rows.toarray().astype(np.float32, copy=False)
        if self.device.type == "cpu":
            return torch.from_numpy(np.asarray(dense @ self.item_vectors.T, dtype=np.float32))  # column-major
        vectors = csr_to_torch(self.item_vectors, self.device)
        return torch.sparse.mm(vectors, torch.from_numpy(dense.T.copy()).to(self.device)).T

    def score(self, users: np.ndarray) -> torch.Tensor:
        if self.user_vectors is not None:
            idx = torch.from_numpy(np.asarray(users, dtype=np.int64)).to(self.device)
            # In float64, rounded to float32: a user's scores come out bit for bit the same whatever else is in
            # the batch (float32 GEMM sums in a batch-size-dependent order), so ties and top-k cut-offs (the
            # hybrid's candidates) do not depend on how users are chunked.
            match = (self.user_vectors[idx].double() @ self.item_dense.double().T).float()
        else:
            match = self._against_items(self.profiles(users)).contiguous()
        if self.config.popularity_exponent == 0:
            return match
        return scale_positive(match, self.prior)

    def similar_items(self, items: np.ndarray) -> torch.Tensor:
        return self._against_items(self.item_vectors[np.asarray(items)])
