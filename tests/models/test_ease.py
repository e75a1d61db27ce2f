"""EASE specifics: the in-place Cholesky solve gives the closed form, in one n^2 buffer."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models.ease import BLOCK, EASEConfig, ease_weights, gram_matrix

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


def test_edlae_dropout_gives_the_optimum_of_the_dropout_penalised_objective():
    # With dropout p, EDLAE minimises ||X - X B||^2 + sum_i (lambda + p / (1 - p) G_ii) ||B_i||^2 over B with a zero
    # diagonal (Steck 2020). At the optimum the gradient vanishes off the diagonal: ((G + Lambda) B - G)_ij = 0.
    x = sp.random(400, 30, density=0.1, format="csr", random_state=5, dtype=np.float32)
    x.data[:] = 1.0
    gram = gram_matrix(x).astype(np.float64)
    p, lam = 0.4, 5.0
    weights = ease_weights(gram_matrix(x), lam, torch.device("cpu"), dropout=p).numpy().astype(np.float64)
    penalty = np.diag(lam + p / (1 - p) * np.diag(gram))
    gradient = (gram + penalty) @ weights - gram
    off_diagonal = ~np.eye(30, dtype=bool)
    np.testing.assert_allclose(gradient[off_diagonal], 0.0, atol=1e-3 * np.abs(gram).max())
    np.testing.assert_array_equal(np.diag(weights), 0.0)
    plain = ease_weights(gram_matrix(x), lam, torch.device("cpu")).numpy()
    assert np.abs(weights - plain).max() > 1e-3  # the dropout penalty changes the weights


def test_dropout_outside_zero_to_one_is_refused():
    with pytest.raises(ValueError, match="dropout must be in"):
        EASEConfig(dropout=1.0)
