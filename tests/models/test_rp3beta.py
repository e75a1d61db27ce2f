"""RP3beta specifics: the walk's weights, the popularity penalty and pruning, against a dense computation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from models.base import Interactions, TrainOptions
from models.rp3beta import RP3beta, RP3betaConfig, rp3beta_weights

pytestmark = pytest.mark.usefixtures("one_thread")


def history(n_users: int = 50, n_items: int = 15, seed: int = 0) -> sp.csr_matrix:
    matrix = sp.random(n_users, n_items, density=0.3, format="csr", random_state=seed, dtype=np.float32)
    matrix.data[:] = 1.0
    return matrix


def dense_rp3beta(x: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    p_ui = x / np.maximum(x.sum(axis=1, keepdims=True), 1)
    p_iu = x.T / np.maximum(x.T.sum(axis=1, keepdims=True), 1)
    walk = np.where(p_iu > 0, p_iu ** alpha, 0) @ np.where(p_ui > 0, p_ui ** alpha, 0)
    degree = x.sum(axis=0)
    weights = walk * np.where(degree > 0, np.maximum(degree, 1) ** -beta, 0)[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


@pytest.mark.parametrize("alpha,beta", [(1.0, 0.0), (0.5, 0.6), (1.5, 1.0)])
def test_weights_are_the_penalised_three_step_walk(alpha, beta):
    x = history()
    got = rp3beta_weights(x, alpha, beta, k=100, block_items=4).toarray()
    np.testing.assert_allclose(got, dense_rp3beta(x.toarray(), alpha, beta), rtol=1e-5, atol=1e-7)


def test_each_item_keeps_its_k_largest_weights():
    x = history(n_items=30)
    full = rp3beta_weights(x, 1.0, 0.5, k=100).toarray()
    pruned = rp3beta_weights(x, 1.0, 0.5, k=4).toarray()
    assert ((pruned > 0).sum(axis=1) <= 4).all()
    for row in range(30):
        kept = np.flatnonzero(pruned[row])
        assert np.allclose(np.sort(full[row])[::-1][: len(kept)], np.sort(pruned[row][kept])[::-1])


def test_the_popularity_penalty_moves_the_ranking_away_from_popular_items():
    rng = np.random.default_rng(1)
    x = (rng.random((300, 40)) < np.linspace(0.6, 0.05, 40)[None, :]).astype(np.float32)  # item 0 most popular
    data = Interactions(sp.csr_matrix(x), np.arange(300).astype(str), np.arange(40).astype(str))
    plain = RP3beta(RP3betaConfig(beta=0.0)).fit(data, TrainOptions())
    penalised = RP3beta(RP3betaConfig(beta=1.0)).fit(data, TrainOptions())
    users = np.arange(300)
    mean_rank_item = [float(np.argsort(-m.score(users).numpy(), axis=1)[:, :5].mean()) for m in (plain, penalised)]
    assert mean_rank_item[1] > mean_rank_item[0] + 3  # the top-5 items are less popular (higher ids)
