"""Mult-VAE specifics: seeding, the loss falling, the planted structure, reporting and the deadline, GPU."""

from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models.base import Interactions, TrainOptions
from models.popularity import Popularity
from models.vae import MultVAE, VAEConfig, normalised_bag
from tests.support.synthetic import make_synthetic, top_items_for_all

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK = {"hidden": 32, "latent": 8, "epochs": 30, "batch_size": 32, "total_anneal_steps": 50, "learning_rate": 0.01}


def fit(seed: int = 3, **fields: object) -> MultVAE:
    return MultVAE(**{**QUICK, **fields}).fit(make_synthetic().train, TrainOptions(seed=seed, device="cpu"))


def test_normalised_bag_is_the_l2_normalised_rows() -> None:
    rows = sp.csr_matrix(np.array([[1, 0, 1, 1], [0, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32))
    indices, offsets, values, entry_rows = normalised_bag(rows, torch.device("cpu"))
    dense = torch.zeros(3, 4)
    dense[entry_rows, indices] = values
    expected = torch.nn.functional.normalize(torch.from_numpy(rows.toarray()), dim=1)
    torch.testing.assert_close(dense, expected)
    assert offsets.tolist() == [0, 3, 3]


def test_same_seed_same_scores_other_seed_other_scores() -> None:
    users = np.arange(20)
    first, again, other = fit(seed=3).score(users), fit(seed=3).score(users), fit(seed=4).score(users)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_reports_each_epoch_the_loss_falls_and_stops_early() -> None:
    data = make_synthetic().train
    losses: list[float] = []
    fixed_beta = {**QUICK, "total_anneal_steps": 0}  # one objective throughout, so the epochs' losses compare
    model = MultVAE(**fixed_beta).fit(data, TrainOptions(device="cpu", report=lambda s, v: losses.append(v) and False))
    assert len(losses) == QUICK["epochs"] and model.epochs_run == QUICK["epochs"]
    # The multinomial NLL has a floor (about 12 items of 66 per user): seen falling 7% on this data.
    assert np.mean(losses[-3:]) < 0.95 * np.mean(losses[:3])
    stopped = MultVAE(**QUICK).fit(data, TrainOptions(device="cpu", report=lambda s, v: s == 2))
    assert stopped.epochs_run == 2


def test_a_passed_deadline_stops_after_the_first_epoch() -> None:
    model = MultVAE(**QUICK).fit(make_synthetic().train, TrainOptions(device="cpu", deadline=time.monotonic() - 1))
    assert model.epochs_run == 1
    assert torch.isfinite(model.score(np.arange(5))).all()


def test_learns_the_planted_blocks_better_than_popularity() -> None:
    synthetic = make_synthetic()
    vae = fit()
    popular = Popularity().fit(synthetic.train, TrainOptions(device="cpu"))
    vae_hits = synthetic.hit_rate(top_items_for_all(vae, synthetic.train))
    popular_hits = synthetic.hit_rate(top_items_for_all(popular, synthetic.train))
    assert vae_hits > popular_hits + 0.5, (vae_hits, popular_hits)


def test_users_without_history_score_finitely() -> None:
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [0, 0, 0], [0, 1, 1]], dtype=np.float32))
    data = Interactions(matrix, np.array(["a", "b", "c"], dtype=object), np.array(["x", "y", "z"], dtype=object))
    model = MultVAE(**QUICK).fit(data, TrainOptions(device="cpu"))
    scores = model.score(np.array([1, 0]))
    assert scores.shape == (2, 3) and torch.isfinite(scores).all()


def test_bad_config_is_rejected() -> None:
    with pytest.raises(ValueError, match="dropout"):
        VAEConfig(dropout=1.0)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_fit() -> None:
    data: Interactions = make_synthetic().train
    model = MultVAE(**QUICK).fit(data, TrainOptions(device="cuda"))
    scores = model.score(np.arange(10))
    assert scores.device.type == "cuda" and torch.isfinite(scores).all()
    assert model.similar_items(np.arange(3)).device.type == "cuda"
