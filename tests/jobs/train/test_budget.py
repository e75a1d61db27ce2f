"""The night's time budget: candidates whose estimated fits would break it are skipped tonight, saying why."""

import logging

import pytest

from jobs import steps, warehouse
from jobs.config import load_settings
from jobs.train.budget import Charge, within_budget
from models.cost import ESTIMATES, Shape, estimate_fit_seconds
from models.registry import MODELS, model_class
from tests.support.warehouse import published, seed_ratings, taste_ratings


def test_candidates_are_kept_in_order_while_the_night_fits_its_budget():
    charges = [Charge("a", 10, 12), Charge("b", 50, 60), Charge("c", 5, 6)]
    kept, skipped = within_budget(charges, budget_seconds=100)
    assert kept == ["a", "c"]  # a + c + a's refit = 27 s; b would make it 10 + 50 + 60 = 120 s
    assert set(skipped) == {"b"} and "120 s of its 100 s budget" in skipped["b"]


def test_the_champions_configuration_and_unestimated_models_always_train_and_a_night_always_has_one():
    charges = [Charge("big", 500, 600), Charge("reigning", 400, 450, protected=True), Charge("unknown", None, None)]
    kept, skipped = within_budget(charges, budget_seconds=100)
    assert kept == ["reigning", "unknown"] and set(skipped) == {"big"}
    kept, skipped = within_budget([Charge("x", 300, 300), Charge("y", 200, 250)], budget_seconds=10)
    assert kept == ["y"] and set(skipped) == {"x"}  # the cheapest trains anyway


def test_every_family_declares_a_cost_that_grows_with_the_data():
    assert set(ESTIMATES) == set(MODELS)
    small, large = Shape(1_000, 500, 50_000, 5_000_000), Shape(100_000, 20_000, 10_000_000, 2_000_000_000)
    for name in MODELS:
        config = model_class(name).config_class()
        assert 0 < estimate_fit_seconds(name, config, small) < estimate_fit_seconds(name, config, large), name
    ease = model_class("ease").config_class()
    assert estimate_fit_seconds("ease", ease, small, speed=2.0) == pytest.approx(estimate_fit_seconds("ease", ease, small) / 2)


@pytest.mark.slow
def test_a_candidate_over_the_budget_is_skipped_with_its_reason_in_the_report(tmp_path, caplog):
    settings = load_settings(home=tmp_path).with_overrides(
        score={"top_n": 3}, train={"models": ("popularity", "ease", "bpr"), "night_budget_minutes": 0.004})
    seed_ratings(settings, taste_ratings(n_users=120, n_items=60))
    with caplog.at_level(logging.WARNING, logger="recs.budget"):
        steps.run_nightly(settings, run_id="night", skip_ingest=True)
    assert any("candidate bpr skipped tonight" in r.getMessage() for r in caplog.records)
    judged = {row[0] for row in published(settings, "select distinct model from model_metrics where split = 'holdout'")}
    assert judged == {"popularity", "ease"}
    with warehouse.connect(settings, read_only=True) as con:
        rows = con.execute("select model, budget_seconds, reason from skipped_candidates").fetchall()
    assert [(m, b) for m, b, _ in rows] == [("bpr", 0.24)] and "budget" in rows[0][2]
    report = settings.layout.report("night").read_text()
    section = report.split("## Candidates skipped tonight")[1].split("##")[0]
    assert "| bpr |" in section and "budget" in section
