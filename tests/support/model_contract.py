"""The contract every recommender in ``models.registry`` must honour (after LensKit's shared component tests).

``tests/test_model_contract.py`` makes one subclass per registered model, so a new model is checked as soon as
its module exists. A model tunes the checks through class attributes (set in ``OVERRIDES`` there):

- ``params``: config fields for a quick fit on the synthetic data (small epochs, batch sizes ...);
- ``check_quality``: False only for the baseline itself (popularity);
- ``min_margin``: how far hit-rate@10 must exceed popularity's;
- ``make_data``: the fixture override point, e.g. for models needing more side data than the synthetic
  ``item_features`` that every training set here already carries.

Everything runs on the CPU with a fixed seed, so equal means bit-for-bit equal where the contract says so.
"""

from __future__ import annotations

import inspect
from dataclasses import fields
from typing import Any, ClassVar

import numpy as np
import optuna
import pytest
import torch

from models import registry
from models.base import Interactions, Recommender, TrainOptions
from models.evaluation import top_items
from tests.support.synthetic import Synthetic, make_synthetic

SEED = 7


def fit_model(name: str, params: dict[str, Any], data: Interactions, seed: int = SEED) -> Recommender:
    return registry.build(name, params).fit(data, TrainOptions(seed=seed, device="cpu"))


def undocumented_fields(config_class: type) -> list[str]:
    """Config fields without a ``#:`` comment on the line above their declaration."""
    missing = []
    for field in fields(config_class):
        owner = next(k for k in config_class.__mro__ if field.name in vars(k).get("__annotations__", {}))
        lines = inspect.getsource(owner).splitlines()
        at = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{field.name}:"))
        if not lines[at - 1].strip().startswith("#:"):
            missing.append(field.name)
    return missing


@pytest.mark.usefixtures("one_thread")
class ModelContract:
    """Checks shared by every model; subclasses set ``model_name`` (a key of ``models.registry.MODELS``)."""

    model_name: ClassVar[str]
    params: ClassVar[dict[str, Any]] = {}
    check_quality: ClassVar[bool] = True
    min_margin: ClassVar[float] = 0.3

    def make_data(self, synthetic: Synthetic) -> Interactions:
        """The training data; override for models that need other side data."""
        return synthetic.train

    # Fixtures are per class: one fit per model, shared by its read-only checks.
    @pytest.fixture(scope="class")
    def synthetic(self) -> Synthetic:
        return make_synthetic()

    @pytest.fixture(scope="class")
    def popularity_hit_rate(self, synthetic: Synthetic) -> float:
        model = fit_model("popularity", {}, synthetic.train)
        return synthetic.hit_rate(top_items(model, synthetic.users, 10, synthetic.train.matrix))

    @pytest.fixture(scope="class")
    def data(self, synthetic: Synthetic) -> Interactions:
        return self.make_data(synthetic)

    @pytest.fixture(scope="class")
    def model(self, data: Interactions) -> Recommender:
        return fit_model(self.model_name, self.params, data)

    @pytest.fixture(scope="class")
    def all_scores(self, model: Recommender, data: Interactions) -> torch.Tensor:
        with torch.inference_mode():
            return model.score(np.arange(data.n_users)).cpu()

    def test_config_documented_and_tunable(self) -> None:
        cls = registry.model_class(self.model_name)
        config_class = cls.config_class
        assert config_class.__dataclass_params__.frozen, "configs are frozen dataclasses"
        assert not undocumented_fields(config_class), "every config field needs a #: comment above it"
        trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
        space = config_class.search_space(trial)
        assert set(space) <= {f.name for f in fields(config_class)}
        config_class(**space)

    def test_fit_returns_self_and_sets_shape(self, data: Interactions) -> None:
        before = data.matrix.copy()
        model = registry.build(self.model_name, self.params)
        assert model.fit(data, TrainOptions(seed=SEED, device="cpu")) is model
        assert (model.n_users, model.n_items) == data.matrix.shape
        assert (data.matrix != before).nnz == 0, "fit must not modify its input"

    def test_score_shape_dtype_finite(self, model: Recommender, data: Interactions) -> None:
        users = np.array([0, 3, data.n_users - 1, 3])
        scores = model.score(users)
        assert isinstance(scores, torch.Tensor)
        assert scores.shape == (len(users), data.n_items)
        assert scores.dtype == torch.float32
        assert torch.isfinite(scores).all()
        torch.testing.assert_close(scores[1], scores[3], rtol=0, atol=0)

    def test_batch_equals_one_at_a_time(self, model: Recommender, all_scores: torch.Tensor) -> None:
        users = np.arange(0, all_scores.shape[0], 7)
        singles = torch.cat([model.score(np.array([u])).cpu() for u in users])
        torch.testing.assert_close(singles, all_scores[users], rtol=1e-5, atol=1e-5)

    def test_same_seed_same_scores(self, data: Interactions, all_scores: torch.Tensor) -> None:
        again = fit_model(self.model_name, self.params, data)
        assert torch.equal(again.score(np.arange(data.n_users)).cpu(), all_scores)

    def test_topk_skips_seen_and_fills_k(self, model: Recommender, data: Interactions) -> None:
        history = data.matrix
        users = np.arange(data.n_users)
        seen_counts = np.diff(history.indptr)
        for k in (10, data.n_items):
            items = top_items(model, users, k, history)
            assert items.shape == (len(users), min(k, data.n_items))
            for u in users:
                row = items[u][items[u] >= 0]
                assert len(row) == min(k, data.n_items - seen_counts[u])
                assert len(set(row)) == len(row), "duplicate items"
                assert not set(row) & set(history.indices[history.indptr[u] : history.indptr[u + 1]]), "seen item"

    def test_save_load_round_trip(self, model: Recommender, all_scores: torch.Tensor, tmp_path: Any) -> None:
        path = model.save(tmp_path / "model.pkl")
        loaded = Recommender.load(path, device="cpu")
        assert type(loaded) is type(model) and loaded.config == model.config
        assert torch.equal(loaded.score(np.arange(all_scores.shape[0])).cpu(), all_scores)

    def test_predict_gathers_the_predicted_ratings(self, model: Recommender, all_scores: torch.Tensor, synthetic: Synthetic) -> None:
        users = np.array([5, 1, 5, 9, 0])
        items = np.array([2, 0, 7, 3, 1])
        # A rating model may rank by something else than its predicted rating (biased_mf: P(rated) x rating).
        expected = model.predicted_ratings(np.arange(model.n_users)) if model.predicts_ratings else all_scores
        np.testing.assert_allclose(model.predict(users, items), expected[users, items].numpy(), rtol=1e-5, atol=1e-5)

    def test_similar_items_rank_own_block_first(self, model: Recommender, synthetic: Synthetic) -> None:
        if not model.supports_similar_items:
            pytest.skip(f"{self.model_name} has no item-item similarity")
        blocks = synthetic.item_block
        items = np.flatnonzero(blocks >= 0)
        sims = model.similar_items(items).cpu()
        assert sims.shape == (len(items), model.n_items) and sims.dtype == torch.float32
        assert torch.isfinite(sims).all()
        sims = sims.numpy()
        # AUC per item: how often a same-block item outranks an other-block item (ties count half).
        aucs = []
        for row, item in enumerate(items):
            same = sims[row, (blocks == blocks[item]) & (np.arange(len(blocks)) != item)]
            other = sims[row, (blocks >= 0) & (blocks != blocks[item])]
            diff = same[:, None] - other[None, :]
            aucs.append(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)
        assert np.mean(aucs) >= 0.9, f"mean same-block AUC {np.mean(aucs):.3f}"

    def test_hit_rate_beats_popularity(
        self, model: Recommender, data: Interactions, synthetic: Synthetic, popularity_hit_rate: float
    ) -> None:
        if not self.check_quality:
            pytest.skip(f"{self.model_name} is exempt from the quality check")
        hit_rate = synthetic.hit_rate(top_items(model, synthetic.users, 10, data.matrix))
        assert hit_rate >= popularity_hit_rate + self.min_margin, (
            f"{self.model_name} hit-rate@10 {hit_rate:.3f} vs popularity {popularity_hit_rate:.3f}"
        )
