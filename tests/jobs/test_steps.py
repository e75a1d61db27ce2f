"""The step layer: what a task receives becomes the right run and settings, and the records survive XCom."""

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from jobs import steps
from jobs.records import Champion, RunContext, run_key
from tests.support.warehouse import seed_ratings, taste_ratings


def test_scheduled_run_processes_its_interval(settings):
    start = datetime(2026, 11, 20, tzinfo=UTC)
    run = steps.resolve_run(settings, "scheduled__2026-11-21T00:00:00+00:00", start, start + timedelta(days=1))
    assert run.logical_date == date(2026, 11, 20)
    assert run.as_of == datetime(2026, 11, 21)  # naive UTC, like the warehouse
    assert run.run_date == date(2026, 11, 20)


def test_interval_in_another_timezone_is_converted_to_utc(settings):
    start = datetime(2026, 11, 20, 1, tzinfo=timezone(timedelta(hours=1)))
    assert steps.resolve_run(settings, "r", start, start + timedelta(days=1)).as_of == datetime(2026, 11, 21, 0)


def test_a_run_without_an_interval_cuts_off_after_the_latest_day_with_data(settings):
    with pytest.raises(RuntimeError, match="no ratings"):
        steps.resolve_run(settings, "manual__x")
    seed_ratings(settings, taste_ratings(n_users=10, days=3, start="2026-10-01"))
    run = steps.resolve_run(settings, "manual__x")
    assert run.as_of == datetime(2026, 10, 4) and run.logical_date == date(2026, 10, 3)
    assert steps.resolve_run(settings, None).run_id == "cli__2026-10-03"


def test_records_survive_a_json_round_trip_as_xcom_does():
    run = RunContext("scheduled__x", date(2026, 11, 20), datetime(2026, 11, 21))
    champion = Champion("ease", "scheduled__x", "first", "why")
    for record in (run, champion):
        assert type(record).from_xcom(json.loads(json.dumps(record.to_xcom()))) == record
    assert RunContext.from_xcom(run) is run


def test_run_key_is_one_safe_path_component_and_distinct_per_run_id():
    key = run_key("manual__2026-11-22T06:59:30.216065+00:00")
    assert "/" not in key and ":" not in key and "+" not in key and key.startswith("manual__2026-11-22T06_59_30")
    assert run_key("../../etc").startswith("etc~") and run_key("..") != ".."
    assert run_key("night1") == "night1"
    # Ids that sanitise alike keep distinct keys (one was served under the other's label).
    ids = ["x:1", "x_1", "x+1", "x 1", "x~1", "x/1", "x_1~"]
    assert len({run_key(i) for i in ids}) == len(ids)


def test_trigger_params_override_the_config(settings):
    assert steps.tuning_models({"models": ["ease", "itemknn"]}) == ["ease", "itemknn"]
    assert steps.shards({"shards": 3}) == [0, 1, 2]
    assert steps.tuning_models(None)  # the configured default list
    tuned = settings.with_params({"trials": 3, "minutes": 1.5, "top_n": None, "holdout_scope": "random",
                                  "holdout_stratify": "item"})
    assert (tuned.tune.trials, tuned.tune.minutes, tuned.score.top_n) == (3, 1.5, settings.score.top_n)
    assert (tuned.train.holdout_scope, tuned.train.holdout_stratify) == ("random", "item")
    with pytest.raises(ValueError, match="holdout_scope must be one of global, user, random"):
        settings.with_params({"holdout_scope": "time"})


def test_a_random_protocol_set_by_two_keys_in_a_config_file_reaches_every_step(tmp_path, monkeypatch):
    config = tmp_path / "mine.toml"
    config.write_text('[train]\nholdout_scope = "random"\nholdout_stratify = "item"\n')
    monkeypatch.setenv("RECS_CONFIG", str(config))
    from jobs.config import TrainSettings, load_settings

    loaded = load_settings(home=tmp_path)
    assert loaded.train.protocol == "random 10% of each item's interactions (seed 42)"
    assert loaded.train.models == TrainSettings().models  # everything else keeps its default
