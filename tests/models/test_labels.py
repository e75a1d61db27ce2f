"""How stacked models draw labels (``models.labels``) and the time features of pairs (``models.recency``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.labels import entry_rows, part, time_masks
from models.recency import DAY, Recency


def test_time_windows_label_each_users_latest_newest_first_and_fit_on_what_came_before() -> None:
    rng = np.random.default_rng(0)
    dense = (rng.random((30, 60)) < 0.4).astype(np.float32)
    dense[0] = 0
    dense[0, 5] = 1.0  # one interaction: never a label
    matrix = sp.csr_matrix(dense)
    rated_at = rng.permutation(matrix.nnz).astype(float)
    windows = time_masks(matrix, rated_at, folds=4, fraction=0.2)
    rows = entry_rows(matrix)
    labelled = np.zeros(matrix.nnz, dtype=int)
    for fit, label in windows:
        labelled += label
        assert not (fit & label).any()
        for user in range(matrix.shape[0]):
            mine = rows == user
            if label[mine].any():  # everything fitted on came before everything labelled, within the user
                assert rated_at[mine & fit].max() < rated_at[mine & label].min()
                later = mine & ~fit & ~label
                assert (rated_at[later] > rated_at[mine & label].max()).all()  # the newer windows: neither
    assert labelled.max() == 1 and not labelled[rows == 0].any()
    counts = np.diff(matrix.indptr)
    n_labelled = np.bincount(rows, weights=labelled, minlength=30)
    np.testing.assert_array_equal(n_labelled[1:], counts[1:] - np.maximum(np.rint(counts[1:] * 0.8), 1))
    newest = np.array([rated_at[rows == u].argmax() for u in range(1, 30)])
    assert all(windows[0][1][rows == u][newest[u - 1]] for u in range(1, 30))  # window 0 holds the newest


def test_time_features_at_each_users_latest_moment() -> None:
    # items 0..2; user 0 last active on day 40, user 1 on day 10. Item 0 rated on days 1, 10, 40 (by users
    # 2, 1, 0); item 1 on day 39 (user 2), item 2 on day 45 (user 2): after user 0's moment.
    day = {(0, 0): 40, (1, 0): 10, (2, 0): 1, (2, 1): 39, (2, 2): 45}
    rows, cols = zip(*sorted(day), strict=True)
    matrix = sp.csr_matrix((np.ones(len(day), np.float32), (rows, cols)), shape=(3, 3))
    rated_at = 1e9 + np.array([day[k] for k in sorted(day)], dtype=float) * DAY
    recency = Recency.of(matrix, rated_at, window_days=30)
    popularity, age, idle = recency.features(np.array([0, 0, 0, 1]), np.array([0, 1, 2, 0]))
    # user 0's window is days 10 < d <= 40: item 0 once (day 40), item 1 once, item 2 never; 2 of all 5 in it
    np.testing.assert_allclose(popularity, np.log1p(np.array([1, 1, 0, 2]) * 3 / np.array([2, 2, 2, 2])), rtol=1e-6)
    np.testing.assert_allclose(age, np.sign([39, 1, -5, 9]) * np.log1p(np.abs([39, 1, -5, 9])), rtol=1e-6)
    np.testing.assert_allclose(idle, np.log1p([5, 5, 5, 35]), rtol=1e-6)


def test_part_keeps_the_masked_entries_in_order() -> None:
    matrix = sp.csr_matrix(np.array([[0, 2, 3], [4, 0, 5]], dtype=np.float32))
    kept = part(matrix, np.array([True, False, False, True]))
    assert kept.toarray().tolist() == [[0, 2, 0], [0, 0, 5]] and kept.has_sorted_indices
