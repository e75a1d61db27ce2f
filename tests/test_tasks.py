"""The Airflow adapters: what a task receives becomes the right run context and settings."""

from datetime import UTC, date, datetime, timedelta, timezone

from jobs.runs import RunContext, run_key
from jobs.tasks import candidates, run_context, shards


def test_scheduled_run_processes_its_interval():
    start = datetime(2026, 11, 20, tzinfo=UTC)
    ctx = RunContext.from_dict(run_context("scheduled__2026-11-21T00:00:00+00:00", start, start + timedelta(days=1)))
    assert ctx.logical_date == date(2026, 11, 20)
    assert ctx.as_of == datetime(2026, 11, 21)  # naive UTC, like the warehouse
    assert ctx.run_date == date(2026, 11, 20)


def test_interval_in_another_timezone_is_converted_to_utc():
    start = datetime(2026, 11, 20, 1, tzinfo=timezone(timedelta(hours=1)))
    ctx = RunContext.from_dict(run_context("r", start, start + timedelta(days=1)))
    assert ctx.as_of == datetime(2026, 11, 21, 0)


def test_manual_run_without_interval_has_no_cut_off_yet():
    ctx = RunContext.from_dict(run_context("manual__x", None, None))
    assert ctx.as_of is None and ctx.logical_date is None


def test_run_key_is_one_safe_path_component():
    key = run_key("manual__2026-11-22T06:59:30.216065+00:00")
    assert "/" not in key and ":" not in key and "+" not in key
    assert run_key("../../etc") == "etc"


def test_trigger_params_override_the_config():
    assert candidates({"models": ["ease", "itemknn"]}) == ["ease", "itemknn"]
    assert shards({"shards": 3}) == [0, 1, 2]
    assert candidates(None)  # the configured default list
