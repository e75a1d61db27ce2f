"""Item-kNN specifics: the similarity formula, neighbour pruning, blocking and weighting."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models.base import Interactions, TrainOptions
from models.itemknn import ItemKNN, ItemKNNConfig, knn_similarity, weight_matrix

pytestmark = pytest.mark.usefixtures("one_thread")


def random_interactions(n_users: int = 40, n_items: int = 12, density: float = 0.3, seed: int = 0) -> Interactions:
    matrix = sp.random(n_users, n_items, density=density, format="csr", random_state=seed, dtype=np.float32)
    matrix.data[:] = np.random.default_rng(seed).integers(1, 6, matrix.nnz)
    return Interactions(matrix, np.arange(n_users).astype(str), np.arange(n_items).astype(str))


def dense_similarity(x: np.ndarray, shrinkage: float) -> np.ndarray:
    dots = x.T @ x
    norms = np.sqrt((x * x).sum(axis=0))
    sims = dots / (np.outer(norms, norms) + shrinkage)
    np.fill_diagonal(sims, 0.0)
    return sims


def test_similarity_is_cosine_with_shrinkage() -> None:
    x = random_interactions().implicit()
    sims = knn_similarity(x, k=100, shrinkage=2.0).toarray()
    np.testing.assert_allclose(sims, dense_similarity(x.toarray(), 2.0), rtol=1e-5, atol=1e-7)


def test_each_item_keeps_its_k_nearest() -> None:
    x = random_interactions().implicit()
    full = dense_similarity(x.toarray(), 0.0)
    pruned = knn_similarity(x, k=3, shrinkage=0.0)
    assert (np.diff(pruned.indptr) <= 3).all()
    for item in range(x.shape[1]):
        kept = pruned[item].toarray().ravel()
        np.testing.assert_allclose(np.sort(kept[kept > 0])[::-1], np.sort(full[item])[::-1][:3], rtol=1e-5)


def test_blocks_do_not_change_the_result() -> None:
    x = random_interactions(n_items=23).implicit()
    one = knn_similarity(x, k=5, shrinkage=1.0, block_items=4096)
    many = knn_similarity(x, k=5, shrinkage=1.0, block_items=4)
    assert (one != many).nnz == 0


def test_tfidf_weighting_down_weights_heavy_users() -> None:
    x = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 0, 0, 0]], dtype=np.float32))
    weighted = weight_matrix(x, "tfidf").toarray()
    idf = np.log(4) - np.log1p(np.array([3, 1]))
    np.testing.assert_allclose(weighted, x.toarray() * idf[:, None], rtol=1e-6)
    bm25 = weight_matrix(x, "bm25").toarray()
    assert bm25[0, 0] < bm25[1, 0]  # the same item counts less for the user with more items


@pytest.mark.parametrize("weighting", ["tfidf", "bm25"])
def test_weighted_models_fit_and_score(weighting: str) -> None:
    data = random_interactions()
    model = ItemKNN(weighting=weighting, k=5).fit(data, TrainOptions(device="cpu"))
    scores = model.score(np.arange(5))
    assert scores.shape == (5, data.n_items) and torch.isfinite(scores).all()


def test_score_is_history_times_similarity() -> None:
    data = random_interactions()
    model = ItemKNN(k=4, shrinkage=1.0).fit(data, TrainOptions(device="cpu"))
    expected = data.implicit().toarray() @ model.similarity.toarray()
    np.testing.assert_allclose(model.score(np.arange(data.n_users)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_bad_weighting_is_rejected() -> None:
    with pytest.raises(ValueError, match="weighting"):
        ItemKNNConfig(weighting="idf")
