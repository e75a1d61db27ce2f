"""BiasedMF specifics: rating prediction quality (RMSE) and a known-answer bias model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models.base import Interactions, TrainOptions
from models.biased_mf import BiasedMF
from tests.support.synthetic import make_synthetic

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK = {"factors": 8, "epochs": 30, "batch_size": 128, "lr": 0.03, "reg": 0.1}


def rmse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_predicts_held_out_ratings_far_better_than_the_mean() -> None:
    synthetic = make_synthetic()
    model = BiasedMF(**QUICK).fit(synthetic.train, TrainOptions(device="cpu"))
    assert model.predicts_ratings
    predicted = model.predict(synthetic.users, synthetic.holdout_items)
    baseline = rmse(np.full(len(predicted), synthetic.train.matrix.data.mean()), synthetic.holdout_ratings)
    assert rmse(predicted, synthetic.holdout_ratings) < 0.6 * baseline  # the rating noise alone is 0.41


def test_recovers_pure_biases() -> None:
    # r_ui = 3 + b_u + b_i exactly: the model should predict unseen pairs from the biases alone.
    rng = np.random.default_rng(0)
    n_users, n_items = 60, 30
    user_bias, item_bias = rng.normal(0, 0.5, n_users), rng.normal(0, 0.8, n_items)
    mask = rng.random((n_users, n_items)) < 0.5
    truth = 3.0 + user_bias[:, None] + item_bias[None, :]
    matrix = sp.csr_matrix(np.where(mask, truth, 0.0).astype(np.float32))
    data = Interactions(matrix, np.arange(n_users).astype(str), np.arange(n_items).astype(str))
    model = BiasedMF(factors=2, epochs=60, batch_size=64, lr=0.03, reg=0.001).fit(data, TrainOptions(device="cpu"))
    users, items = np.nonzero(~mask)
    assert rmse(model.predict(users, items), truth[users, items]) < 0.15


def test_predict_gathers_in_chunks() -> None:
    synthetic = make_synthetic()
    model = BiasedMF(**{**QUICK, "epochs": 2}).fit(synthetic.train, TrainOptions(device="cpu"))
    users = np.repeat(synthetic.users, 3)
    items = np.tile([0, 5, 9], len(synthetic.users))
    expected = model.predicted_ratings(synthetic.users).numpy()[users, items]
    np.testing.assert_allclose(model.predict(users, items, chunk=7), expected, rtol=1e-5, atol=1e-5)


def test_reports_training_rmse_each_epoch() -> None:
    values: list[float] = []
    BiasedMF(**{**QUICK, "epochs": 5}).fit(make_synthetic().train, TrainOptions(device="cpu", report=lambda s, v: values.append(v) and False))
    assert len(values) == 5 and values[-1] < values[0]


def test_exposure_model_ranks_what_users_rate_and_leaves_ratings_alone() -> None:
    """Ranked by predicted rating alone, the top-10 hits fewer held-out items than ranked by P(rated) x rating;
    the exposure model changes the ranking only, never a predicted rating."""
    synthetic = make_synthetic()
    with_exposure = BiasedMF(**QUICK).fit(synthetic.train, TrainOptions(device="cpu"))
    ratings_only = BiasedMF(**QUICK, exposure=False).fit(synthetic.train, TrainOptions(device="cpu"))
    users = synthetic.users
    np.testing.assert_allclose(with_exposure.predict(users, synthetic.holdout_items),
                               ratings_only.predict(users, synthetic.holdout_items), rtol=1e-5)
    assert torch.equal(ratings_only.score(users), ratings_only.predicted_ratings(users))

    def hits(model: BiasedMF) -> int:
        scores = model.score(users)
        scores[torch.from_numpy(synthetic.train.matrix[users].toarray() > 0)] = -torch.inf
        top = scores.topk(10, dim=1).indices.numpy()
        return int((top == synthetic.holdout_items[:, None]).sum())

    assert hits(with_exposure) > hits(ratings_only)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_fit() -> None:
    synthetic = make_synthetic()
    model = BiasedMF(**QUICK).fit(synthetic.train, TrainOptions(device="cuda"))
    predicted = model.predict(synthetic.users, synthetic.holdout_items)
    assert np.isfinite(predicted).all()
