"""Metric functions against values worked out by hand."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from models import metrics

# Two users, top-4 lists. User 0 has relevant items {1, 3, 7}; user 1 has {2}.
RECOMMENDED = np.array([[1, 5, 3, 9], [4, 6, 8, 2]])
TRUTH = sp.csr_matrix((np.ones(4), ([0, 0, 0, 1], [1, 3, 7, 2])), shape=(2, 10))
N_RELEVANT = np.array([3, 1])


@pytest.fixture
def hits():
    return metrics.hit_matrix(np.array([0, 1]), RECOMMENDED, TRUTH)


def test_hit_matrix_marks_relevant_positions(hits):
    assert hits.tolist() == [[True, False, True, False], [False, False, False, True]]


def test_hit_matrix_treats_padding_as_miss():
    padded = np.array([[1, -1, -1, -1]])
    assert metrics.hit_matrix(np.array([0]), padded, TRUTH).tolist() == [[True, False, False, False]]


def test_hit_matrix_is_membership_in_the_truth_rows_whatever_their_order():
    rng = np.random.default_rng(0)
    for trial in range(60):
        n_users, n_items = int(rng.integers(1, 30)), int(rng.integers(1, 40))
        n = int(rng.integers(0, 80))
        rows, cols = np.sort(rng.integers(0, n_users, n)), rng.integers(0, n_items, n)
        indptr = np.searchsorted(rows, np.arange(n_users + 1))
        if trial % 2:  # raw arrays, never summed: unsorted indices and repeated pairs, as a split may leave them
            truth = sp.csr_matrix((np.ones(n), cols, indptr), shape=(n_users, n_items))
        else:
            truth = sp.csr_matrix((np.ones(n), (rows, cols)), shape=(n_users, n_items))
        users = rng.integers(0, n_users, int(rng.integers(0, 20)))
        recommended = rng.integers(-1, n_items, (len(users), 6))
        dense = truth.toarray() != 0
        expected = np.array([[item >= 0 and bool(dense[u, item]) for item in row] for u, row in zip(users, recommended)],
                            dtype=bool).reshape(recommended.shape)
        np.testing.assert_array_equal(metrics.hit_matrix(users, recommended, truth), expected)


def test_precision(hits):
    assert metrics.precision_at_k(hits, 2).tolist() == [0.5, 0.0]
    assert metrics.precision_at_k(hits, 4).tolist() == [0.5, 0.25]


def test_recall(hits):
    np.testing.assert_allclose(metrics.recall_at_k(hits, N_RELEVANT, 4), [2 / 3, 1.0])
    np.testing.assert_allclose(metrics.recall_at_k(hits, N_RELEVANT, 2), [1 / 3, 0.0])


def test_ndcg(hits):
    # user 0: hits at ranks 1 and 3 -> 1 + 1/log2(4) = 1.5; ideal for 3 relevant in top 4: 1 + 1/log2(3) + 1/2
    ideal = 1 + 1 / math.log2(3) + 0.5
    # user 1: hit at rank 4 -> 1/log2(5); ideal 1
    np.testing.assert_allclose(metrics.ndcg_at_k(hits, N_RELEVANT, 4), [1.5 / ideal, 1 / math.log2(5)])


def test_map_min_denominator(hits):
    # user 0: precision at hits 1/1 and 2/3, over min(3, 4) = 3; user 1: 1/4 over 1
    np.testing.assert_allclose(metrics.map_at_k(hits, N_RELEVANT, 4), [(1 + 2 / 3) / 3, 0.25])
    # at k=2 user 0 has one hit (1/1) over min(3, 2) = 2
    np.testing.assert_allclose(metrics.map_at_k(hits, N_RELEVANT, 2), [0.5, 0.0])


def test_map_relevant_denominator(hits):
    np.testing.assert_allclose(metrics.map_at_k(hits, N_RELEVANT, 2, ap_denominator="relevant"), [1 / 3, 0.0])


def test_coverage():
    assert metrics.coverage_at_k(RECOMMENDED, 10, 2) == pytest.approx(4 / 10)
    assert metrics.coverage_at_k(RECOMMENDED, 10, 4) == pytest.approx(8 / 10)


def test_rmse_and_mae():
    assert metrics.rmse(np.array([3.0, 5.0]), np.array([4.0, 3.0])) == pytest.approx(math.sqrt((1 + 4) / 2))
    assert metrics.mae(np.array([3.0, 5.0]), np.array([4.0, 3.0])) == pytest.approx(1.5)
