"""TwoTower: retrieval + ranking stage, seeding, reporting, external embeddings (the shared contract covers the rest)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from models.base import Recommender, TrainOptions
from models.popularity import Popularity
from models.two_tower import TwoTower, TwoTowerConfig
from tests.support.synthetic import make_synthetic, top_items_for_all

pytestmark = pytest.mark.usefixtures("one_thread")

OPTIONS = TrainOptions(seed=5, device="cpu")
#: Small and quick for the tiny synthetic set (160 users, 66 items, 1 760 interactions).
QUICK = TwoTowerConfig(dim=16, epochs=10, batch_size=256, learning_rate=0.02, history_samples=8, rerank_epochs=10)


@pytest.fixture(scope="module")
def synthetic():
    return make_synthetic()


@pytest.fixture(scope="module")
def model(synthetic) -> TwoTower:
    return TwoTower(QUICK).fit(synthetic.train, OPTIONS)


def test_beats_popularity_on_held_out_hit_rate(synthetic, model) -> None:
    baseline = synthetic.hit_rate(top_items_for_all(Popularity().fit(synthetic.train, OPTIONS), synthetic.train))
    ours = synthetic.hit_rate(top_items_for_all(model, synthetic.train))
    assert ours >= baseline + 0.4, (ours, baseline)


def test_deterministic_with_the_seed_on_cpu(synthetic, model) -> None:
    users = np.arange(synthetic.train.n_users)
    again = TwoTower(QUICK).fit(synthetic.train, OPTIONS)
    assert torch.equal(again.score(users), model.score(users))
    other = TwoTower(QUICK).fit(synthetic.train, replace(OPTIONS, seed=6))
    assert not torch.equal(other.score(users), model.score(users))


def test_ranker_orders_the_candidates_ahead_of_the_rest(synthetic, model) -> None:
    users = np.arange(synthetic.train.n_users)
    scores = model.score(users)
    assert scores.shape == (len(users), synthetic.train.n_items) and scores.dtype == torch.float32
    retrieval, candidates = model._candidates(users, model.history)
    is_candidate = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, candidates, True)
    lowest_candidate = torch.where(is_candidate, scores, torch.inf).min(dim=1).values
    highest_other = torch.where(is_candidate, -torch.inf, scores).max(dim=1).values
    assert (highest_other < lowest_candidate).all()
    # Outside the candidates the retrieval order is kept.
    user = 0
    others = (~is_candidate[user]).nonzero().ravel()
    assert torch.equal(torch.argsort(scores[user, others]), torch.argsort(retrieval[user, others]))
    # The ranker learned something: it does not just replay the retrieval order.
    ranked = torch.argsort(scores.gather(1, candidates), dim=1, descending=True)
    assert not torch.equal(ranked, torch.arange(candidates.shape[1]).expand_as(ranked))


def test_without_ranker_scores_are_retrieval_scores(synthetic) -> None:
    plain = TwoTower(replace(QUICK, rerank=False, epochs=3)).fit(synthetic.train, OPTIONS)
    assert plain.ranker is None
    users = np.arange(7)
    torch.testing.assert_close(plain.score(users), plain.retrieval_scores(users))


def test_reports_each_epoch_and_stops_when_told(synthetic) -> None:
    seen: list[tuple[int, float]] = []

    def report(step: int, value: float) -> bool:
        seen.append((step, value))
        return step == 2

    def validate(model: TwoTower) -> float:  # the model is scorable between epochs
        return float(model.score(np.arange(3)).mean())

    TwoTower(replace(QUICK, rerank=False)).fit(synthetic.train, replace(OPTIONS, report=report))
    assert [step for step, _ in seen] == [1, 2] and all(np.isfinite(v) and v > 0 for _, v in seen)  # the loss
    seen.clear()
    TwoTower(QUICK).fit(synthetic.train, replace(OPTIONS, report=report, validate=validate))
    assert [step for step, _ in seen] == [1, 2]


def test_external_item_embeddings_feed_the_item_tower(synthetic, tmp_path) -> None:
    train = synthetic.train
    rng = np.random.default_rng(0)
    vectors = np.eye(synthetic.n_groups + 1)[synthetic.item_block] + 0.1 * rng.normal(size=(train.n_items, synthetic.n_groups + 1))
    path = tmp_path / "items.parquet"
    pd.DataFrame({"item_id": train.item_ids, "vector": list(vectors.astype(np.float32))}).to_parquet(path)
    config = replace(QUICK, item_embeddings_path=str(path), rerank=False)
    with_vectors = TwoTower(config).fit(train, OPTIONS)
    assert with_vectors.external.shape == (train.n_items, synthetic.n_groups + 1)
    without = TwoTower(replace(config, item_embeddings_path=None)).fit(train, OPTIONS)
    assert not torch.equal(with_vectors.score(np.arange(5)), without.score(np.arange(5)))
    assert synthetic.hit_rate(top_items_for_all(with_vectors, train)) >= synthetic.hit_rate(top_items_for_all(without, train)) - 0.05


def test_save_load_round_trip(synthetic, model, tmp_path) -> None:
    loaded = Recommender.load(model.save(tmp_path / "two_tower.pkl"), device="cpu")
    users = np.arange(synthetic.train.n_users)
    assert torch.equal(loaded.score(users), model.score(users))
    assert torch.equal(loaded.similar_items(np.arange(4)), model.similar_items(np.arange(4)))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_trains_on_gpu_and_loads_on_cpu(synthetic, tmp_path) -> None:
    model = TwoTower(QUICK).fit(synthetic.train, replace(OPTIONS, device="cuda"))
    users = np.arange(synthetic.train.n_users)
    on_gpu = model.score(users)
    assert on_gpu.device.type == "cuda"
    loaded = Recommender.load(model.save(tmp_path / "gpu.pkl"), device="cpu")
    torch.testing.assert_close(loaded.score(users), on_gpu.cpu(), rtol=1e-4, atol=1e-4)
    assert synthetic.hit_rate(top_items_for_all(loaded, synthetic.train)) >= 0.6
