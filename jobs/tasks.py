"""Adapters between Airflow tasks and the pipeline steps: one function per task of ``recs_nightly``.

They turn what Airflow hands a task (the run id and data interval, the trigger's params, upstream XComs) into
plain arguments, so the DAG file stays declarative and these stay testable without a scheduler.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jobs import pipeline
from jobs.runs import RunContext


def run_context(run_id: str, interval_start: datetime | None, interval_end: datetime | None) -> dict[str, Any]:
    """The run as it travels through XCom: its id and, for scheduled runs, the day it processes.

    A manual or asset-triggered run may have no data interval: it then uses every rating in the warehouse
    up to the end of the latest day with data (decided by ``prepare``, from the data, not the clock).
    """
    if interval_start is None or interval_end is None:
        return RunContext(run_id=run_id).to_dict()
    start = _naive_utc(interval_start)
    end = _naive_utc(interval_end)
    return RunContext(run_id=run_id, logical_date=start.date(), as_of=end).to_dict()


def _naive_utc(moment: datetime) -> datetime:
    """The warehouse stores naive UTC timestamps; Airflow hands out aware ones."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def _resolve(run: dict[str, Any], params: dict[str, Any] | None) -> tuple[pipeline.Settings, RunContext]:
    settings = pipeline.settings_for(params)
    context = RunContext.from_dict(run)
    if context.as_of is None:  # manual run without an interval: fix the cut-off from the data, once
        context = pipeline.default_run(settings, context.run_id)
    return settings, context


def ingest(params: dict[str, Any] | None = None) -> dict[str, Any]:
    return pipeline.ingest(pipeline.settings_for(params))


def prepare(run: dict[str, Any], ingested: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(run, params)
    counts = pipeline.prepare(settings, context, ingested)
    return {"run": context.to_dict(), **counts}


def candidates(params: dict[str, Any] | None = None) -> list[str]:
    """The models to train tonight: the trigger's choice or the configured list."""
    return list(pipeline.settings_for(params).train.models)


def shards(params: dict[str, Any] | None = None) -> list[int]:
    return list(range(max(1, pipeline.settings_for(params).score.shards)))


def train_candidate(prepared: dict[str, Any], model: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(prepared["run"], params)
    return pipeline.train_candidate(settings, context, model)


def choose_champion(prepared: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(prepared["run"], params)
    return pipeline.choose_champion(settings, context, force_promote=bool((params or {}).get("force_publish")))


def fit_champion(prepared: dict[str, Any], champion: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(prepared["run"], params)
    return pipeline.fit_champion(settings, context, champion)


def score_shard(prepared: dict[str, Any], champion: dict[str, Any], shard: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(prepared["run"], params)
    return pipeline.score_shard(settings, context, champion, shard, settings.score.shards)


def similar_items(prepared: dict[str, Any], champion: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(prepared["run"], params)
    return pipeline.similar_items(settings, context, champion)


def build_and_check(prepared: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(prepared["run"], params)
    return pipeline.build_and_check(settings, context, force=bool((params or {}).get("force_publish")))


def publish(prepared: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(prepared["run"], params)
    result = pipeline.publish(settings, context)
    return {"version": result["version"], "serving": result["serving"]}


def report(prepared: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
    settings, context = _resolve(prepared["run"], params)
    return pipeline.write_report(settings, context)


def on_failure(run_id: str, message: str, params: dict[str, Any] | None = None) -> None:
    """Record a failed task's run as failed in the warehouse's runs table."""
    pipeline.mark_failed(pipeline.settings_for(params), RunContext(run_id=run_id), message)


def tuning_snapshot(interval_end: datetime | None) -> dict[str, Any]:
    from jobs.tune import prepare_tuning_data

    return prepare_tuning_data(pipeline.load_settings(), _naive_utc(interval_end) if interval_end else None)


def tuning_models(params: dict[str, Any] | None = None) -> list[str]:
    return list((params or {}).get("models") or pipeline.load_settings().train.models)


def tune_model(model: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    from jobs.tune import tune_model

    params = params or {}
    return tune_model(pipeline.load_settings(), model, n_trials=int(params.get("trials", 20)), minutes=float(params.get("minutes", 30)))
