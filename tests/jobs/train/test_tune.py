"""Tuning: the study persists and resumes, trials are recorded, and the nightly run trains with the best."""

import json
import time

import duckdb
import numpy as np
import optuna
import pytest

from jobs.config import load_settings
from jobs.steps import run_nightly
from jobs.train.tune import freeze_tuning_snapshot, tune_model
from tests.support.warehouse import seed_ratings, taste_ratings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path):
    s = load_settings(home=tmp_path).with_overrides(score={"top_n": 5}, train={"models": ("ease",)})
    seed_ratings(s, taste_ratings())
    freeze_tuning_snapshot(s)
    return s


def trials(settings):
    con = duckdb.connect(str(settings.layout.warehouse), read_only=True)
    try:
        return con.execute("select trial_number, state, value, params from tuning_trials order by trial_number").fetchall()
    finally:
        con.close()


def test_study_resumes_across_calls_and_nightly_uses_the_best(settings):
    first = tune_model(settings, "ease", n_trials=3, minutes=5)
    assert first["trials_total"] == 3
    second = tune_model(settings, "ease", n_trials=2, minutes=5)
    assert second["trials_total"] == 5 and second["trials_new"] == 2
    rows = trials(settings)
    assert [r[0] for r in rows] == [0, 1, 2, 3, 4]
    assert second["best_value"] == max(r[2] for r in rows if r[1] == "COMPLETE")

    best = json.loads(settings.layout.best_params("ease").read_text())["params"]
    summary = run_nightly(settings, run_id="night1", skip_ingest=True)
    record = json.loads((settings.layout.run("night1").root / "metrics" / "ease.json").read_text())
    assert record["params"]["regularization"] == pytest.approx(best["regularization"])
    assert summary["champion"]["model"] == "ease"


def test_a_model_with_nothing_to_tune_runs_one_trial_however_many_are_asked(settings):
    result = tune_model(settings, "popularity", n_trials=5, minutes=5)
    assert result["trials_new"] == result["trials_total"] == 1 and result["params"] == {}
    assert tune_model(settings, "ease", n_trials=2, minutes=5)["trials_new"] == 2  # a search space: as asked


def test_new_study_warm_starts_from_the_last_best(settings):
    tune_model(settings, "ease", n_trials=2, minutes=5)
    best = json.loads(settings.layout.best_params("ease").read_text())["params"]
    fresh = tune_model(settings, "ease", n_trials=1, minutes=5, study_name="ease:fresh")
    assert fresh["best_params"]["regularization"] == pytest.approx(best["regularization"])
    assert fresh["trials_new"] == fresh["trials_total"] == 1


def test_iterative_models_are_pruned(settings):
    result = tune_model(settings, "bpr", n_trials=8, minutes=5)
    states = [r[1] for r in trials(settings)]
    assert result["trials_total"] == 8
    assert "PRUNED" in states, states


@pytest.mark.parametrize("model", ["bpr", "ease"])
def test_a_trial_stops_when_the_budget_runs_out_once_the_study_has_a_best(settings, model):
    from jobs.train.snapshot import load_snapshot
    from jobs.train.tune import _objective, tuning_splits
    from models.registry import model_class

    splits = tuning_splits(settings, load_snapshot(settings.layout.tuning))
    spent = time.monotonic() - 1.0  # a budget that ran out before the trials start
    study = optuna.create_study(direction="maximize")
    defaults = model_class(model).config_class.space_defaults()
    study.enqueue_trial(defaults)
    study.enqueue_trial(defaults)
    study.optimize(_objective(settings, model, splits, "ndcg@10", spent), n_trials=2)
    first, second = study.trials
    # Nothing to fall back on yet: the first trial runs every epoch and fold, whatever the clock says.
    assert first.state == optuna.trial.TrialState.COMPLETE and len(first.user_attrs["fold_values"]) == len(splits)
    assert len(first.intermediate_values) == defaults.get("epochs", 0)
    # Then the budget holds inside a trial: an iterative one stops at the end of its first epoch, before
    # validating it, any other before its second fold; both are recorded as pruned with the reason.
    assert second.state == optuna.trial.TrialState.PRUNED
    assert second.user_attrs["stopped"] == "out of tuning time" and "fold_values" not in second.user_attrs
    assert second.intermediate_values == {}


def test_a_passed_deadline_stops_training_at_the_end_of_the_epoch():
    from models.base import TrainOptions

    reported = []
    listening = TrainOptions(report=lambda step, value: reported.append(step) or False)
    assert not listening.epoch_done(None, 1, 0.5) and reported == [1]
    assert TrainOptions(deadline=time.monotonic() - 1).epoch_done(None, 1, 0.5)
    late = TrainOptions(report=listening.report, deadline=time.monotonic() - 1)
    assert late.epoch_done(None, 2, 0.5) and reported == [1]  # stopped without paying for the report
    assert not TrainOptions(deadline=time.monotonic() + 3600).epoch_done(None, 1, 0.5)


def test_objective_is_the_mean_over_rolling_origin_folds(settings):
    from jobs.train.snapshot import load_snapshot
    from jobs.train.tune import tuning_splits
    from models.base import TrainOptions
    from models.evaluation import evaluate, metric_value
    from models.registry import build
    from models.splits import temporal_split

    snapshot = load_snapshot(settings.layout.tuning)
    splits = tuning_splits(settings, snapshot)
    assert len(splits) == settings.train.tuning_folds == 3
    # Each fold tests a different window of time, on what came before it, and none sees the gate's window.
    assert len({split.cut_at for split in splits}) == 3
    assert all(split.train.matrix.nnz > 0 and split.test.nnz > 0 for split in splits)
    gate = temporal_split(snapshot.data, snapshot.rated_at, settings.train.holdout_fraction)
    gate_start = gate.cut_at
    assert all(split.cut_at < gate_start for split in splits)
    assert all((split.train.matrix + split.test).multiply(gate.test).nnz == 0 for split in splits)
    result = tune_model(settings, "ease", n_trials=1, minutes=5)
    assert (result["folds"], result["user_windows"]) == (3, sum(len(split.test_users) for split in splits))
    values = []
    for split in splits:
        model = build("ease", result["best_params"]).fit(split.train, TrainOptions(seed=settings.train.seed))
        values.append(metric_value(evaluate(model, split, (10,))[1], "ndcg@10"))
    assert result["best_value"] == pytest.approx(sum(values) / 3, rel=1e-6)
    assert len(set(values)) > 1  # different windows, different values: not one fold counted thrice


def test_random_draws_are_added_until_the_noise_guard_has_enough_users(settings):
    from jobs.train.snapshot import load_snapshot
    from jobs.train.tune import MAX_RANDOM_FOLDS, tuning_splits, user_windows

    snapshot = load_snapshot(settings.layout.tuning)
    random = settings.with_overrides(train={"holdout_scope": "random", "holdout_stratify": "item"})
    three = tuning_splits(random.with_overrides(train={"tuning_min_user_windows": 0}), snapshot)
    assert len(three) == 3
    wanted = user_windows(three) + 1  # one user more than three draws hold: a fourth is drawn, and no more
    more = tuning_splits(random.with_overrides(train={"tuning_min_user_windows": wanted}), snapshot)
    assert len(more) == 4 and user_windows(more[:3]) < wanted <= user_windows(more)
    assert [(s.test != t.test).nnz for s, t in zip(more, three, strict=False)] == [0, 0, 0]  # the same first three
    assert (more[3].test != more[2].test).nnz > 0  # a new draw, not a copy
    assert len(tuning_splits(random.with_overrides(train={"tuning_min_user_windows": 10**9}), snapshot)) == MAX_RANDOM_FOLDS
    # Time windows further back describe an older world: the time protocols keep tuning_folds.
    assert len(tuning_splits(settings.with_overrides(train={"tuning_min_user_windows": 10**9}), snapshot)) == 3


def test_a_gain_within_the_noise_keeps_the_previous_params():
    from jobs.train.tune import adopt_or_keep

    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.1, 2000)  # per-user gains around 0: SE = 0.1 / sqrt(2000) = 0.0022
    assert not adopt_or_keep(noise - noise.mean() + 0.003, 2.0)[0]  # 1.3 SE: kept
    adopt, reason = adopt_or_keep(noise - noise.mean() + 0.006, 2.0)  # 2.7 SE: adopted
    assert adopt and reason.startswith("adopted") and "2000 user-windows" in reason
    assert adopt_or_keep(noise - noise.mean() + 0.003, 0.0)[0]  # 0 standard errors: any gain is taken
    assert not adopt_or_keep(np.array([0.5]), 0.0)[0]  # one user says nothing about the noise


@pytest.mark.parametrize("min_gain_se, kept", [(0.0, False), (1e6, True)])
def test_tuning_keeps_the_defaults_unless_the_best_trial_clears_the_bar(settings, min_gain_se, kept):
    from models.registry import model_class

    settings = settings.with_overrides(train={"tuning_min_gain_se": min_gain_se})
    result = tune_model(settings, "ease", n_trials=4, minutes=5)
    defaults = model_class("ease").config_class.space_defaults()
    assert defaults == {"regularization": 250.0, "dropout": 0.0}
    saved = json.loads(settings.layout.best_params("ease").read_text())
    rows = trials(settings)
    assert json.loads(rows[0][3]) == defaults  # the first trial is the defaults
    assert saved["params"] == result["params"]
    assert saved["best_trial_params"] == result["best_params"] and result["best_value"] == max(r[2] for r in rows)
    assert result["best_params"] != defaults  # some trial beat the defaults, by however little
    if kept:
        assert saved["params"] == defaults and saved["decision"].startswith("kept")
        assert saved["value"] == pytest.approx(rows[0][2], rel=1e-6)  # the defaults' own trial value
    elif not kept:
        assert saved["params"] == result["best_params"] and saved["value"] == result["best_value"]
    # The nightly run trains with what was kept.
    run_nightly(settings, run_id="night-kept", skip_ingest=True)
    record = json.loads((settings.layout.run("night-kept").root / "metrics" / "ease.json").read_text())
    assert record["params"]["regularization"] == pytest.approx(saved["params"]["regularization"])
