"""The time-based holdout, in both scopes, on interactions whose right split is worked out by hand."""

import numpy as np
import pytest
import scipy.sparse as sp

from models.base import Interactions
from models.splits import temporal_split


def interactions(triples: list[tuple[int, int, float]], n_users: int, n_items: int) -> tuple[Interactions, np.ndarray]:
    """(user, item, rated_at) triples -> Interactions (rating 1 + item) and rated_at in matrix.data order."""
    users, items, rated_at = (np.array(c) for c in zip(*triples))
    order = np.lexsort((items, users))  # CSR order: by user, then item
    matrix = sp.csr_matrix(((1.0 + items[order]).astype(np.float32), (users[order], items[order])), shape=(n_users, n_items))
    ids = lambda n, p: np.array([f"{p}{i}" for i in range(n)])  # noqa: E731
    return Interactions(matrix, ids(n_users, "u"), ids(n_items, "i")), rated_at[order].astype(np.float64)


def pairs(m: sp.csr_matrix) -> set[tuple[int, int]]:
    coo = m.tocoo()
    return set(zip(coo.row.tolist(), coo.col.tolist()))


# User 0 rated items 0..3 at t = 1..4; user 1 items 0, 3, 4 at t = 10, 15, 20; user 2 items 1, 2 at t = 0, 5.
TRIPLES = [(0, 0, 1), (0, 1, 2), (0, 2, 3), (0, 3, 4), (1, 0, 10), (1, 3, 15), (1, 4, 20), (2, 1, 0), (2, 2, 5)]


def test_global_scope_holds_out_the_latest_interactions_of_all_users():
    data, rated_at = interactions(TRIPLES, 3, 5)
    split = temporal_split(data, rated_at, 0.2)  # the 0.8 quantile of the 9 times: 10 + 0.4 x 5 = 12
    assert split.cut_at == pytest.approx(12.0)
    assert pairs(split.train.matrix) == {(0, 0), (0, 1), (0, 2), (0, 3), (1, 0), (2, 1), (2, 2)}
    # Held: (1, 3) and (1, 4). Item 4 was never rated before the cut, so no model can score it: dropped.
    assert pairs(split.test) == {(1, 3)}
    assert split.test[1, 3] == 4.0  # the rating travels with the row


def test_global_scope_drops_users_with_nothing_before_the_cut():
    data, rated_at = interactions([(0, 0, 1), (0, 1, 2), (1, 0, 3), (1, 1, 9)], 2, 2)
    split = temporal_split(data, rated_at, 0.5)  # cut at 2.5: user 1's rows are all held
    assert pairs(split.test) == set()
    assert pairs(split.train.matrix) == {(0, 0), (0, 1)}


def test_user_scope_holds_out_each_users_latest_fraction():
    data, rated_at = interactions(TRIPLES, 3, 5)
    split = temporal_split(data, rated_at, 0.25, scope="user")
    # round(0.25 x n) held per user, at least one: user 0 item 3, user 1 item 4, user 2 item 2.
    assert pairs(split.train.matrix) == {(0, 0), (0, 1), (0, 2), (1, 0), (1, 3), (2, 1)}
    assert pairs(split.test) == {(0, 3), (2, 2)}  # item 4 has no training row: dropped
    assert split.cut_at is None
    assert split.test_users.tolist() == [0, 2]


def test_user_scope_never_holds_out_all_of_a_user():
    data, rated_at = interactions(TRIPLES, 3, 5)
    split = temporal_split(data, rated_at, 0.99, scope="user")
    # Each user keeps its earliest interaction.
    assert pairs(split.train.matrix) == {(0, 0), (1, 0), (2, 1)}
    assert pairs(split.test) == {(0, 1)}  # items 2, 3, 4 have no training row


def test_user_scope_breaks_ties_in_time_the_same_way_every_time_but_not_by_item():
    # 200 users each rated items 0..19 at one instant, after one earlier rating of item 20.
    triples = [(u, i, 5) for u in range(200) for i in range(20)] + [(u, 20, 1) for u in range(200)]
    data, rated_at = interactions(triples, 200, 21)
    first = temporal_split(data, rated_at, 0.1, scope="user")
    assert pairs(first.test) == pairs(temporal_split(data, rated_at, 0.1, scope="user").test)
    held = first.test.tocoo()
    assert held.nnz == 200 * 2 and (held.col < 20).all()  # round(0.1 x 21) = 2 per user, never the earlier item
    # Every tied item is held for some users and the held ids average near the middle (9.5), not the top (18.5).
    assert len(np.unique(held.col)) == 20
    assert abs(held.col.mean() - 9.5) < 1.5
    assert len({tuple(sorted(held.col[held.row == u])) for u in range(200)}) > 100  # the choice differs per user


def test_user_scope_fraction_rounds_per_user():
    triples = [(0, i, i) for i in range(8)] + [(1, i, i) for i in range(3)]
    data, rated_at = interactions(triples, 2, 8)
    split = temporal_split(data, rated_at, 0.3, scope="user")
    # round(0.3 x 8) = 2 held for user 0 (items 6, 7, rated by nobody else: dropped from the test set);
    # round(0.3 x 3) = 1 for user 1 (item 2, which user 0 trains on).
    assert pairs(split.train.matrix) == {(0, i) for i in range(6)} | {(1, 0), (1, 1)}
    assert pairs(split.test) == {(1, 2)}


def test_an_unknown_scope_is_an_error():
    data, rated_at = interactions(TRIPLES, 3, 5)
    with pytest.raises(ValueError, match="holdout scope"):
        temporal_split(data, rated_at, 0.1, scope="item")


def test_global_fold_moves_the_window_back_and_leaves_the_later_rows_out():
    data, rated_at = interactions(TRIPLES, 3, 5)
    split = temporal_split(data, rated_at, 0.2, fold=1)  # window [q(0.6), q(0.8)) = [4.8, 12)
    assert split.cut_at == pytest.approx(4.8)
    # Held: (2, 2) at 5 and (1, 0) at 10; later, in neither part: (1, 3) and (1, 4).
    assert pairs(split.train.matrix) == {(0, 0), (0, 1), (0, 2), (0, 3), (2, 1)}
    assert pairs(split.test) == {(2, 2)}  # user 1 has nothing before the window


def test_user_fold_moves_each_users_window_back():
    triples = [(0, i, i) for i in range(5)] + [(1, i, 10 + i) for i in range(5)] + [(2, 3, 0), (2, 4, 0.5), (2, 0, 1)]
    data, rated_at = interactions(triples, 3, 5)
    split = temporal_split(data, rated_at, 0.2, scope="user", fold=1)
    # One interaction per window: users 0 and 1 hold item 3 (item 4 is later); user 2 holds item 4 (item 0
    # is later, item 3 its earliest).
    assert pairs(split.train.matrix) == {(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 3)}
    assert pairs(split.test) == {(0, 3), (1, 3)}  # item 4 has no training row
    assert pairs(temporal_split(data, rated_at, 0.2, scope="user", fold=0).test) == {(0, 4), (1, 4), (2, 0)}
