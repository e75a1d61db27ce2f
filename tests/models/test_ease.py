"""EASE specifics: the in-place Cholesky solve gives the closed form, in one n^2 buffer."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models.ease import BLOCK, ease_weights, gram_matrix

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("n_items", [7, BLOCK + 37])  # one block, and a partial second one
def test_the_in_place_solve_is_the_closed_form(n_items):
    x = sp.random(300, n_items, density=0.05, format="csr", random_state=2, dtype=np.float32)
    x.data[:] = 1.0
    gram = gram_matrix(x)
    dense = x.toarray().astype(np.float64)
    np.testing.assert_allclose(gram, dense.T @ dense, rtol=0, atol=1e-4)
    p = np.linalg.inv(dense.T @ dense + 50.0 * np.eye(n_items))
    expected = -p / np.diag(p)[None, :]
    np.fill_diagonal(expected, 0.0)
    got = ease_weights(gram, 50.0, torch.device("cpu"))
    assert got.data_ptr() == torch.from_numpy(gram).data_ptr()  # the Gram matrix's own memory, no second buffer
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-3, atol=2e-5)


def test_a_singular_system_says_to_raise_the_regularization():
    gram = np.zeros((3, 3), dtype=np.float32)
    with pytest.raises(np.linalg.LinAlgError, match="raise the regularization"):
        ease_weights(gram, -1.0, torch.device("cpu"))
