"""iALS specifics: the conjugate-gradient solves against exact ALS, chunking, confidences, reporting, GPU."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models.base import Interactions, TrainOptions
from models.ials import IALS, Tiles, conjugate_gradient_pass

pytestmark = pytest.mark.usefixtures("one_thread")


def random_interactions(n_users: int = 30, n_items: int = 20, seed: int = 1) -> Interactions:
    matrix = sp.random(n_users, n_items, density=0.2, format="csr", random_state=seed, dtype=np.float32)
    matrix.data[:] = np.random.default_rng(seed).integers(1, 6, matrix.nnz)
    matrix.data[matrix.indptr[4] : matrix.indptr[5]] = 0  # a user with no interactions
    matrix.eliminate_zeros()
    return Interactions(matrix, np.arange(n_users).astype(str), np.arange(n_items).astype(str))


def exact_solve(matrix: sp.csr_matrix, conf: np.ndarray, y: np.ndarray, reg: float) -> np.ndarray:
    """Hu et al.'s closed-form update, one user at a time (float64): the reference for the CG solver."""
    c = sp.csr_matrix((conf, matrix.indices, matrix.indptr), shape=matrix.shape).toarray()
    observed = (c > 0).astype(np.float64)
    c = np.where(observed > 0, c, 1.0)
    out = np.empty((matrix.shape[0], y.shape[1]))
    for u in range(matrix.shape[0]):
        a = y.T @ (c[u][:, None] * y) + reg * np.eye(y.shape[1])
        out[u] = np.linalg.solve(a, y.T @ (c[u] * observed[u]))
    return out


def test_cg_with_as_many_steps_as_factors_is_exact() -> None:
    data = random_interactions()
    model = IALS(alpha=3.0)
    conf = model.confidences(data.matrix)
    f, reg = 6, 0.5
    y = torch.randn(data.n_items, f, generator=torch.Generator().manual_seed(0))
    x = torch.zeros(data.n_users, f)
    conjugate_gradient_pass(Tiles(data.matrix, conf, 7, 6, torch.device("cpu")), x, y, reg, steps=f)
    expected = exact_solve(data.matrix, conf, y.double().numpy(), reg)
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-3, atol=1e-4)
    assert torch.all(x[4] == 0)


def test_fit_matches_exact_als() -> None:
    data = random_interactions()
    f, reg, seed = 4, 0.3, 3
    model = IALS(factors=f, regularization=reg, alpha=2.0, iterations=2, cg_steps=f).fit(data, TrainOptions(seed=seed, device="cpu"))
    gen = torch.Generator().manual_seed(seed)
    torch.randn(data.n_users, f, generator=gen)  # the initial users are overwritten by the first solve
    y = (torch.randn(data.n_items, f, generator=gen) * model.config.init_std).double().numpy()
    conf = model.confidences(data.matrix)
    transposed = sp.csr_matrix((conf, data.matrix.indices, data.matrix.indptr), shape=data.matrix.shape).T.tocsr()
    for _ in range(2):
        x = exact_solve(data.matrix, conf, y, reg)
        y = exact_solve(transposed, transposed.data, x, reg)
    np.testing.assert_allclose(model.score(np.arange(data.n_users)).numpy(), x @ y.T, rtol=1e-3, atol=1e-4)


def test_tiles_do_not_change_the_result() -> None:
    data = random_interactions(n_users=100, n_items=70)
    conf = IALS(alpha=3.0).confidences(data.matrix)
    y = torch.randn(data.n_items, 8, generator=torch.Generator().manual_seed(0))
    x0 = torch.randn(data.n_users, 8, generator=torch.Generator().manual_seed(1))
    whole, tiled = x0.clone(), x0.clone()
    conjugate_gradient_pass(Tiles(data.matrix, conf, 10**6, 10**6, torch.device("cpu")), whole, y, 0.5, steps=3)
    conjugate_gradient_pass(Tiles(data.matrix, conf, 7, 16, torch.device("cpu")), tiled, y, 0.5, steps=3)
    torch.testing.assert_close(tiled, whole, rtol=1e-4, atol=1e-5)
    # The same through fit: cache_kib=1 at 8 factors means column blocks of 32 rows.
    one = IALS(factors=8, iterations=2).fit(data, TrainOptions(device="cpu"))
    blocked = IALS(factors=8, iterations=2, chunk_rows=7, cache_kib=1).fit(data, TrainOptions(device="cpu"))
    torch.testing.assert_close(blocked.score(np.arange(100)), one.score(np.arange(100)), rtol=1e-2, atol=1e-4)


def test_confidence_scalings() -> None:
    matrix = sp.csr_matrix(np.array([[2.0, 0.0, 4.0]], dtype=np.float32))
    np.testing.assert_allclose(IALS(alpha=3.0).confidences(matrix), [4.0, 4.0])
    np.testing.assert_allclose(IALS(alpha=3.0, use_ratings=True).confidences(matrix), [7.0, 13.0])
    log = IALS(alpha=3.0, use_ratings=True, confidence="log", epsilon=2.0).confidences(matrix)
    np.testing.assert_allclose(log, 1 + 3.0 * np.log1p(np.array([1.0, 2.0])), rtol=1e-6)


def test_reports_falling_loss_and_stops_early() -> None:
    data = random_interactions()
    seen: list[tuple[int, float]] = []
    model = IALS(factors=8, iterations=6).fit(data, TrainOptions(device="cpu", report=lambda s, v: seen.append((s, v)) and False))
    assert [s for s, _ in seen] == list(range(1, 7)) and model.iterations_run == 6
    assert seen[-1][1] < seen[0][1]
    stopped = IALS(factors=8, iterations=6).fit(data, TrainOptions(device="cpu", report=lambda s, v: s >= 2))
    assert stopped.iterations_run == 2


def test_reports_the_validation_value_when_given() -> None:
    values: list[float] = []
    options = TrainOptions(device="cpu", report=lambda s, v: values.append(v) and False, validate=lambda m: m.n_items / 2)
    IALS(factors=4, iterations=2).fit(random_interactions(), options)
    assert values == [10.0, 10.0]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_fit_matches_cpu() -> None:
    data = random_interactions(n_users=300, n_items=80)
    cpu = IALS(factors=16, iterations=3).fit(data, TrainOptions(device="cpu"))
    gpu = IALS(factors=16, iterations=3).fit(data, TrainOptions(device="cuda"))
    assert gpu.score(np.arange(5)).device.type == "cuda"
    torch.testing.assert_close(gpu.score(np.arange(data.n_users)).cpu(), cpu.score(np.arange(data.n_users)), rtol=1e-3, atol=1e-4)


def _loss(model: IALS, data: Interactions) -> float:
    matrix = data.matrix.tocsr()
    return model.training_loss(Tiles(matrix, model.confidences(matrix), 1 << 18, 1 << 20, torch.device("cpu")))


def test_the_refit_continues_from_the_holdout_fit() -> None:
    data = random_interactions(60, 40, seed=3)
    held = data.matrix.copy()
    held.data[::7] = 0  # the holdout's training part: a seventh of the interactions held out
    held.eliminate_zeros()
    part = Interactions(held, data.user_ids, data.item_ids)
    options = TrainOptions(device="cpu", seed=5)
    previous = IALS(factors=8, iterations=15).fit(part, options)
    warm = IALS(factors=8, iterations=15, refit_iterations=2).refit(data, previous, options)
    cold_two = IALS(factors=8, iterations=2).fit(data, options)
    cold = IALS(factors=8, iterations=15).fit(data, options)
    assert warm.iterations_run == 2
    assert _loss(warm, data) < _loss(cold_two, data)  # the same two passes, from factors that already fit
    assert _loss(warm, data) < 1.05 * _loss(cold, data)
    assert not torch.equal(warm.user_factors, previous.user_factors)  # a copy, trained on; the previous fit is kept
    assert torch.equal(previous.user_factors, IALS(factors=8, iterations=15).fit(part, options).user_factors)


def test_the_refit_starts_cold_when_it_cannot_continue() -> None:
    data, options = random_interactions(), TrainOptions(device="cpu", seed=5)
    cold = IALS(factors=8, iterations=3).fit(data, options)
    other_shape = IALS(factors=8, iterations=3).fit(random_interactions(31, 20), options)
    other_factors = IALS(factors=4, iterations=3).fit(data, options)
    for previous, refit_iterations in ((other_shape, 2), (other_factors, 2), (cold, 0)):
        model = IALS(factors=8, iterations=3, refit_iterations=refit_iterations).refit(data, previous, options)
        assert model.iterations_run == 3 and torch.equal(model.user_factors, cold.user_factors)
