"""BPR specifics: negative sampling, per-epoch reporting, item bias, optimisers, GPU."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models.base import Interactions, TrainOptions
from models.bpr import BPR, BPRConfig, sample_negatives, seen_keys
from models.popularity import Popularity
from models.topk import recommend
from tests.support.synthetic import make_synthetic

pytestmark = pytest.mark.usefixtures("one_thread")

QUICK = {"factors": 8, "epochs": 4, "batch_size": 128, "lr": 0.01}


def test_negatives_are_unseen_and_seeded() -> None:
    seen = sp.random(50, 20, density=0.5, format="csr", random_state=0, dtype=np.float32)
    seen.sort_indices()
    users = np.repeat(np.arange(50), 40)
    neg = sample_negatives(np.random.default_rng(1), users, seen_keys(seen), 20, retries=50)
    dense = seen.toarray() > 0
    assert not dense[users, neg].any()
    again = sample_negatives(np.random.default_rng(1), users, seen_keys(seen), 20, retries=50)
    assert np.array_equal(neg, again)


def test_reports_each_epoch_and_stops_early() -> None:
    data = make_synthetic().train
    losses: list[float] = []
    model = BPR(**QUICK).fit(data, TrainOptions(device="cpu", report=lambda s, v: losses.append(v) and False))
    assert len(losses) == 4 and model.epochs_run == 4 and losses[-1] < losses[0]
    stopped = BPR(**QUICK).fit(data, TrainOptions(device="cpu", report=lambda s, v: s == 2))
    assert stopped.epochs_run == 2


def test_without_item_bias_the_bias_stays_zero() -> None:
    model = BPR(**QUICK, item_bias=False).fit(make_synthetic().train, TrainOptions(device="cpu"))
    assert torch.all(model.item_bias == 0)


def test_sgd_learns_too() -> None:
    synthetic = make_synthetic()
    options = TrainOptions(device="cpu")
    model = BPR(**{**QUICK, "epochs": 20, "lr": 0.04}, optimizer="sgd", reg=0.01).fit(synthetic.train, options)
    top = np.concatenate([t.items for t in recommend(model, synthetic.users, 10, synthetic.train.matrix)])
    popular = Popularity().fit(synthetic.train, options)
    baseline = np.concatenate([t.items for t in recommend(popular, synthetic.users, 10, synthetic.train.matrix)])
    assert synthetic.hit_rate(top) > synthetic.hit_rate(baseline) + 0.5


def test_bad_optimizer_is_rejected() -> None:
    with pytest.raises(ValueError, match="optimizer"):
        BPRConfig(optimizer="adagrad")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_fit() -> None:
    data: Interactions = make_synthetic().train
    model = BPR(**QUICK).fit(data, TrainOptions(device="cuda"))
    scores = model.score(np.arange(10))
    assert scores.device.type == "cuda" and torch.isfinite(scores).all()
