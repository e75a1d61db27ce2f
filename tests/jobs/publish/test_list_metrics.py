"""The published lists' figures (jobs.publish.list_metrics) are models.metrics' measures, computed without the
(lists x k x d) tensor: the same values on lists with gaps, repeated items, items without a vector, and lists of
zero or one item; and the same item vectors, from a matrix read as load_snapshot reads it."""

import numpy as np

from jobs.config import load_settings
from jobs.publish.list_metrics import ListRows, slot_matrix, snapshot_matrix
from jobs.train.candidates import saved_item_vectors
from jobs.train.snapshot import load_snapshot
from models.metrics import item_vectors
from tests.support.snapshot import write_random_snapshot


def test_slot_matrix_places_rows_by_user_and_rank():
    rows = ListRows({"default": 0}, placement=np.zeros(5, dtype=np.int32), user=np.array([2, 2, 0, 2, 0]),
                    item=np.array([9, 8, 7, 6, 5]), rank=np.array([1, 3, 2, 9, 0]), promoted=np.zeros(5, bool))
    # users 0 and 2 have lists (user 1 none); rank 9 is past k = 3 and rank 0 has no slot.
    np.testing.assert_array_equal(slot_matrix(rows, n_users=3, k=3), [[-1, 7, -1], [9, -1, 8]])


def test_the_snapshot_matrix_gives_load_snapshots_item_vectors(tmp_path):
    files = load_settings(home=tmp_path).layout.run("night")
    write_random_snapshot(files, n_users=31, n_items=13, rated_users=30, rated_items=12, draws=200, seed=3)  # u30, i12: none
    loaded = load_snapshot(files).data.matrix
    matrix = snapshot_matrix(files)
    assert matrix.shape == loaded.shape == (31, 13)
    np.testing.assert_array_equal(matrix.indptr, loaded.indptr)
    np.testing.assert_array_equal(matrix.indices, loaded.indices)
    np.testing.assert_array_equal(item_vectors(matrix, dim=4), item_vectors(loaded, dim=4))


def test_the_figures_reuse_the_evaluations_item_vectors_only_when_they_fit_the_snapshot(tmp_path):
    files = load_settings(home=tmp_path).layout.run("night")
    assert saved_item_vectors(files, n_items=13) is None  # no candidate evaluated: the figures run their own SVD
    files.holdout_item_vectors.parent.mkdir(parents=True)
    vectors = np.random.default_rng(0).random((13, 4)).astype(np.float32)
    np.save(files.holdout_item_vectors, vectors)
    np.testing.assert_array_equal(saved_item_vectors(files, n_items=13), vectors)
    assert saved_item_vectors(files, n_items=14) is None  # another catalogue: not these vectors
