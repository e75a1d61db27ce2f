"""The random holdout: a seeded fraction of each user's or each item's interactions, as Microsoft Recommenders'
python_stratified_split draws it; tuning's folds never reuse the gate's draw."""

import numpy as np
import pytest
import scipy.sparse as sp

from models.base import Interactions
from models.splits import holdout_split, random_split


def world(n_users=300, n_items=80, density=0.1, seed=1) -> Interactions:
    matrix = sp.random(n_users, n_items, density=density, random_state=seed, format="csr", dtype=np.float32)
    matrix.data[:] = 4.0
    return Interactions(matrix, np.array([f"u{i}" for i in range(n_users)], dtype=object),
                        np.array([f"i{i}" for i in range(n_items)], dtype=object))


@pytest.mark.parametrize("stratify,axis", [("user", 1), ("item", 0)])
def test_each_group_keeps_round_of_its_training_share(stratify, axis):
    data = world()
    split = random_split(data, 0.25, stratify, seed=42)
    counts = np.asarray((data.matrix != 0).sum(axis=axis)).ravel()
    trained = np.asarray((split.train.matrix != 0).sum(axis=axis)).ravel()
    assert np.array_equal(trained, np.rint(0.75 * counts).astype(int))  # each group trains on round(0.75 n)
    assert split.train.matrix.multiply(split.test).nnz == 0  # disjoint


def test_the_draw_is_seeded_and_a_group_of_one_is_never_held_out():
    data = world()
    a, b = random_split(data, 0.2, "user", seed=42), random_split(data, 0.2, "user", seed=42)
    assert (a.test != b.test).nnz == 0
    other = random_split(data, 0.2, "user", seed=7)
    assert (a.test != other.test).nnz > 0
    single = Interactions(sp.csr_matrix(np.eye(3, dtype=np.float32)), np.array(["a", "b", "c"], dtype=object),
                          np.array(["x", "y", "z"], dtype=object))
    assert random_split(single, 0.5, "user").test.nnz == 0


def test_tuning_folds_are_independent_draws_that_never_reuse_the_gates():
    data = world()
    gate = holdout_split(data, None, 0.2, "random", "item", seed=42, fold=0)
    folds = [holdout_split(data, None, 0.2, "random", "item", seed=42, fold=k) for k in (1, 2, 3)]
    for fold in folds:
        assert (fold.test != gate.test).nnz > 0
        overlap = fold.test.multiply(gate.test).nnz / gate.test.nnz
        assert 0.05 < overlap < 0.4  # about the held-out share, as independent draws overlap


def test_a_time_protocol_needs_timestamps_and_unknown_protocols_are_refused():
    with pytest.raises(ValueError, match="needs the interactions' timestamps"):
        holdout_split(world(), None, 0.1, "user")
    with pytest.raises(ValueError, match="must be one of global, user, random"):
        holdout_split(world(), None, 0.1, "randomly")
    with pytest.raises(ValueError, match="stratify must be 'user' or 'item'"):
        random_split(world(), 0.1, "day")


@pytest.mark.parametrize("scope", ["global", "user", "random"])
def test_train_and_test_are_the_masked_entries_as_canonical_matrices(scope):
    rng = np.random.default_rng(4)
    dense = (rng.random((40, 25)) < 0.3) * rng.integers(1, 6, (40, 25))
    data = Interactions(matrix=sp.csr_matrix(dense), user_ids=np.arange(40).astype(str),
                        item_ids=np.arange(25).astype(str))
    rated_at = rng.permutation(data.matrix.nnz).astype(float)
    split = holdout_split(data, None if scope == "random" else rated_at, 0.2, scope)
    train, test = split.train.matrix, split.test
    for part in (train, test):
        assert part.has_sorted_indices and part.dtype == np.float32
        assert ((part.toarray() == 0) | (part.toarray() == dense)).all()  # entries of the data, values intact
    assert train.nnz + test.nnz <= data.matrix.nnz and test.nnz > 0
    assert not (train.multiply(test)).nnz  # no pair in both
    seen_users, seen_items = np.diff(train.indptr) > 0, np.diff(train.tocsc().indptr) > 0
    test_rows, test_cols = test.nonzero()
    assert seen_users[test_rows].all() and seen_items[test_cols].all()
    # what neither part holds was dropped only for an unseen user or item
    dropped = (dense != 0) & (train.toarray() == 0) & (test.toarray() == 0)
    rows, cols = dropped.nonzero()
    assert (~seen_users[rows] | ~seen_items[cols]).all()


def _csr_entries(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the stored entries, in CSR order."""
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr)), matrix.indices


@pytest.mark.parametrize("scope", ["global", "user", "random"])
def test_the_train_part_keeps_each_interactions_timestamp(scope):
    rng = np.random.default_rng(5)
    dense = (rng.random((40, 25)) < 0.3) * rng.integers(1, 6, (40, 25))
    stamps = rng.permutation(40 * 25).reshape(40, 25).astype(float) * 3600.0  # a distinct time per cell
    matrix = sp.csr_matrix(dense)
    data = Interactions(matrix=matrix, user_ids=np.arange(40).astype(str), item_ids=np.arange(25).astype(str),
                        rated_at=stamps[_csr_entries(matrix)])
    split = holdout_split(data, data.rated_at, 0.2, scope)
    assert np.array_equal(split.train.rated_at, stamps[_csr_entries(split.train.matrix)])
    assert split.train.matrix.nnz < data.matrix.nnz


def test_timestamps_are_sorted_with_the_entries_and_must_match_them():
    # Row 0 stores columns 2, 0 (unsorted), row 1 stores column 1.
    matrix = sp.csr_matrix((np.array([5.0, 3.0, 4.0]), np.array([2, 0, 1]), np.array([0, 2, 3])), shape=(2, 3))
    data = Interactions(matrix=matrix, user_ids=np.array(["a", "b"]), item_ids=np.array(["x", "y", "z"]),
                        rated_at=np.array([20.0, 10.0, 30.0]))
    assert list(data.matrix.indices) == [0, 2, 1] and list(data.matrix.data) == [3.0, 5.0, 4.0]
    assert list(data.rated_at) == [10.0, 20.0, 30.0]  # each timestamp moved with its entry
    with pytest.raises(ValueError, match="2 timestamps for 3 interactions"):
        Interactions(matrix=matrix, user_ids=np.array(["a", "b"]), item_ids=np.array(["x", "y", "z"]),
                     rated_at=np.array([1.0, 2.0]))
