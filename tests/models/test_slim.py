"""SLIM specifics: each column of W is the ridge regression of the item on its neighbourhood (a direct numpy
solve), all-items neighbourhoods are EASE's regression without its diagonal constraint, blocks do not change the
result, and a planted structure is learnt better than popularity."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from models.base import Interactions, TrainOptions
from models.popularity import Popularity
from models.slim import SLIM, SLIMConfig, pruned_gram

pytestmark = pytest.mark.usefixtures("one_thread")


def history(n_users: int = 60, n_items: int = 20, density: float = 0.3, seed: int = 0) -> sp.csr_matrix:
    matrix = sp.random(n_users, n_items, density=density, format="csr", random_state=seed, dtype=np.float32)
    matrix.data[:] = 1.0
    return matrix


def interactions(x: sp.csr_matrix) -> Interactions:
    return Interactions(x, np.arange(x.shape[0]).astype(str), np.arange(x.shape[1]).astype(str))


def fit(x: sp.csr_matrix, **fields) -> SLIM:
    return SLIM(SLIMConfig(**fields)).fit(interactions(x), TrainOptions(device="cpu"))


def ridge_on(x: np.ndarray, hoods: list[np.ndarray], lam: float) -> np.ndarray:
    """Column j: argmin |x_j - X_N w|^2 + lam |w|^2 over N = hoods[j] (float64, numpy)."""
    gram = x.T @ x
    out = np.zeros_like(gram)
    for j, hood in enumerate(hoods):
        out[hood, j] = np.linalg.solve(gram[np.ix_(hood, hood)] + lam * np.eye(len(hood)), gram[hood, j])
    return out


def test_each_column_is_the_ridge_solve_on_its_neighbourhood():
    x = history(n_items=25, density=0.4)
    dense = x.toarray().astype(np.float64)
    gram = dense.T @ dense
    np.fill_diagonal(gram, 0)
    cols, _ = pruned_gram(x, 25, "cooccurrence", block_items=8)  # M = n: G_NN exact
    hoods = [row[:6][row[:6] >= 0] for row in cols]
    for j, hood in enumerate(hoods):  # a top-6 by co-occurrence (which of tied items is topk's choice), j excluded
        assert j not in hood and len(hood) == 6
        np.testing.assert_array_equal(np.sort(gram[j, hood])[::-1], np.sort(gram[j])[::-1][:6])
    got = fit(x, k=6, regularization=5.0, candidates=25).similarity.toarray()
    np.testing.assert_allclose(got, ridge_on(dense, hoods, 5.0), rtol=1e-4, atol=1e-6)
    assert ((got != 0).sum(axis=0) <= 6).all() and np.all(np.diag(got) == 0)


def test_all_items_as_neighbours_is_eases_regression_without_the_diagonal_constraint():
    x = history(n_users=80, n_items=12, density=0.6, seed=3)
    dense = x.toarray().astype(np.float64)
    gram = dense.T @ dense
    assert (gram > 0).all(), "every pair co-occurs, so every other item is a neighbour"
    lam = 10.0
    expected = np.zeros((12, 12))
    for j in range(12):
        rest = np.delete(np.arange(12), j)
        expected[rest, j] = np.linalg.solve(gram[np.ix_(rest, rest)] + lam * np.eye(11), gram[rest, j])
    got = fit(x, k=11, regularization=lam, candidates=12).similarity.toarray()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


def test_blocks_do_not_change_the_weights():
    x = history(n_users=200, n_items=60, density=0.15, seed=5)
    one = fit(x, k=10, regularization=20.0, block_items=1000, solve_items=1000).similarity
    many = fit(x, k=10, regularization=20.0, block_items=7, solve_items=3).similarity
    assert (one != many).nnz == 0


def test_same_data_same_weights():
    x = history(n_users=200, n_items=60, density=0.15, seed=6)
    assert (fit(x, k=10).similarity != fit(x, k=10).similarity).nnz == 0


def test_pruned_gram_keeps_each_rows_largest_cooccurrences():
    x = history(n_users=100, n_items=30, density=0.3, seed=2)
    gram = (x.T @ x).toarray()
    np.fill_diagonal(gram, 0)
    cols, vals = pruned_gram(x, 5, "cooccurrence", block_items=4)
    for j in range(30):
        np.testing.assert_array_equal(vals[j], gram[j, cols[j]])
        np.testing.assert_array_equal(np.sort(vals[j])[::-1], np.sort(gram[j])[::-1][:5])
    assert not (cols == np.arange(30)[:, None]).any()


def test_cosine_neighbours_and_similar_items_are_symmetric():
    x = history(n_users=100, n_items=30, density=0.3, seed=4)
    model = fit(x, k=5, similarity="cosine")
    sims = model.similar_items(np.arange(30)).numpy()
    np.testing.assert_allclose(sims, sims.T, atol=1e-6)


def test_learns_planted_blocks_better_than_popularity():
    rng = np.random.default_rng(0)
    n_users, n_items, block = 300, 60, 10
    group = rng.integers(0, n_items // block, n_users)
    popular = rng.random((n_users, n_items)) < np.linspace(0.3, 0.0, n_items)[None, :]
    own = (np.arange(n_items)[None, :] // block == group[:, None]) & (rng.random((n_users, n_items)) < 0.5)
    full = popular | own
    test = own & (rng.random((n_users, n_items)) < 0.3) & ~popular
    train = sp.csr_matrix((full & ~test).astype(np.float32))
    data = interactions(train)
    hits = {}
    for name, model in (("slim", SLIM(SLIMConfig(k=20, regularization=10.0))), ("popularity", Popularity())):
        model.fit(data, TrainOptions(device="cpu"))
        scores = model.score(np.arange(n_users)).numpy()
        scores[train.toarray() > 0] = -np.inf
        top = np.argsort(-scores, axis=1)[:, :5]
        hits[name] = test[np.arange(n_users)[:, None], top].sum() / test.sum()  # recall@5
    assert hits["slim"] > hits["popularity"] + 0.1, hits  # 0.29 vs 0.12


def test_config_rejects_too_few_candidates():
    with pytest.raises(ValueError):
        SLIMConfig(k=10, candidates=5)
    assert SLIMConfig(k=10).m == 20


def test_a_too_small_pruned_gram_cannot_blow_up_the_weights():
    x = history(n_users=300, n_items=80, density=0.2, seed=8)
    lam = 2.0
    w = fit(x, k=20, regularization=lam, candidates=20).similarity.toarray()
    degree = np.asarray(x.sum(axis=0)).ravel()
    assert (lam * (w.astype(np.float64) ** 2).sum(axis=0) <= degree * (1 + 1e-4) + 1e-6).all()
