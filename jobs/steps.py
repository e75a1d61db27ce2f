"""The pipeline's steps: one function per task of ``recs_nightly`` and ``recs_tune``, and ``run_nightly``.

A DAG task makes one call here; so does ``recs run``, through ``run_nightly``, with the same functions in the
same order. Each step takes the records that travel between tasks (``jobs.records``: the run, the champion, as
their XCom form or as objects) and either the trigger's ``params`` (Airflow: the settings are loaded once per
task from the environment, with the params applied) or ready ``settings`` (the CLI and tests). It returns a
small JSON-able value: a record, or paths and counts. Data moves through files and tables, never XCom.

Every step is idempotent per run: a retry or a rerun of the same run id overwrites that run's own files and
rows and nothing else. Each step is also a fault-injection point (``before:<step>`` / ``after:<step>``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import shutil
import sys
import time
from datetime import datetime, timedelta
from typing import Any

from jobs import runlock, warehouse
from jobs.clock import naive_utc, utcnow
from jobs.config import Settings, load_settings
from jobs.faults import maybe_crash
from jobs.records import Champion, RunContext

log = logging.getLogger("recs.steps")

Params = dict[str, Any] | None


#: The argument that labels each instance of a mapped step (its file ``steps/<step>-<label>.json``).
_STEP_LABELS = {"score_shard": "shard", "evaluate_candidate": "model"}
#: Steps whose first argument is not the run but whose result is (they start it).
_RETURNS_THE_RUN = ("freeze_snapshot",)


def _step(fn):
    """Mark a step: fault injection can kill the process just before or just after it (tests); a step of a run
    (its first argument the run, or its result for freeze_snapshot) that succeeds leaves its timing in
    ``runs/<run>/steps/`` (``_record_step``)."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def run(*args, **kwargs):
        maybe_crash(f"before:{fn.__name__}")
        started_at, clock = utcnow(), time.perf_counter()
        result = fn(*args, **kwargs)
        _record_step(fn.__name__, signature.bind_partial(*args, **kwargs).arguments, result, started_at,
                     time.perf_counter() - clock)
        maybe_crash(f"after:{fn.__name__}")
        return result

    return run


def _record_step(name: str, arguments: dict[str, Any], result: Any, started_at: datetime, seconds: float) -> None:
    """A tiny JSON per step attempt: ``runs/<run>/steps/<step>[-<label>].json`` (run id, step, label, started
    and finished at, seconds), which build_release loads into run_steps. Never fails the step."""
    raw = result if name in _RETURNS_THE_RUN else next(iter(arguments.values()), None)
    if not isinstance(raw, RunContext | dict) or not (raw.run_id if isinstance(raw, RunContext) else raw.get("run_id")):
        return
    try:
        from jobs.files import write_json
        from jobs.records import run_key

        run = RunContext.from_xcom(raw)
        settings = arguments.get("settings") or load_settings()  # the layout does not depend on params
        label = arguments.get(_STEP_LABELS.get(name, ""))
        label = None if label is None else str(label)
        path = settings.layout.run(run.key).step_file(name, run_key(label) if label else None)
        write_json(path, {"run_id": run.run_id, "step": name, "label": label, "started_at": started_at.isoformat(),
                          "finished_at": utcnow().isoformat(), "seconds": seconds})
    except Exception:  # a timing record is never worth a failed step
        log.warning("could not record the timing of step %s", name, exc_info=True)


def _settings(settings: Settings | None, params: Params) -> Settings:
    """The given settings, else the environment's (loaded once, here) with the trigger's params applied."""
    return settings if settings is not None else load_settings().with_params(params)


def _begin(run: RunContext | dict, params: Params, settings: Settings | None) -> tuple[Settings, RunContext]:
    """A step of a started run: its settings and record, after checking the run still holds the home."""
    settings, run = _settings(settings, params), RunContext.from_xcom(run)
    runlock.check(settings, run.run_id)
    return settings, run


def _orchestrator(settings: Settings | None) -> str:
    """Airflow tasks pass params and load settings; the CLI and tests pass settings, in one process."""
    return "airflow" if settings is None else "cli"


def _forced(params: Params) -> bool:
    return bool((params or {}).get("force_publish"))


# --- ingest ---------------------------------------------------------------------------------------------------


@_step
def ingest_files(params: Params = None, settings: Settings | None = None, run_id: str | None = None) -> dict[str, Any]:
    """Ingest every new landing file (claiming the home for ``run_id`` first, when given). "Future" timestamps
    are judged against the moment of ingest, not the run's cut-off: a backfill's first run legitimately ingests
    the files of the days after it (its training snapshot then ignores them, via as_of). A file that cannot be
    ingested is set aside with its reason, and the night goes on."""
    from jobs.ingest import ingest_landing

    settings_given, settings = settings, _settings(settings, params)
    if run_id is not None:
        runlock.claim(settings, run_id, _orchestrator(settings_given))
    result = ingest_landing(settings, as_of=utcnow(), run_id=run_id)
    if result.n_files_new == 0:
        log.warning("0 new files in %s (%d already ingested): tonight retrains and republishes on the warehouse's "
                    "data, the ratings already ingested; land new files in %s/ratings for new ratings",
                    settings.landing_dir, len(result.files), settings.landing_dir)
    return result.to_dict()


# --- train ----------------------------------------------------------------------------------------------------


def resolve_run(settings: Settings, run_id: str, interval_start: datetime | None = None,
                interval_end: datetime | None = None, as_of: datetime | None = None) -> RunContext:
    """The run: a scheduled run processes its data interval; a run without one (a manual trigger, ``recs run``)
    uses every rating before ``as_of``, by default the end of the latest day with data (the data, not the clock)."""
    if interval_start is not None and interval_end is not None:
        return RunContext(run_id=run_id, logical_date=naive_utc(interval_start).date(), as_of=naive_utc(interval_end))
    if as_of is None:
        latest = warehouse.latest_rating(settings)
        if latest is None:
            raise RuntimeError(f"the warehouse has no ratings; run `recs ingest` or put files into {settings.landing_dir}/ratings")
        as_of = datetime.combine(latest.date() + timedelta(days=1), datetime.min.time())
    logical_date = (as_of - timedelta(days=1)).date()
    return RunContext(run_id=run_id or f"cli__{logical_date.isoformat()}", logical_date=logical_date, as_of=as_of)


@_step
def freeze_snapshot(run_id: str, interval_start: datetime | None = None, interval_end: datetime | None = None,
                    params: Params = None, settings: Settings | None = None,
                    as_of: datetime | None = None) -> dict[str, Any]:
    """Record the run's start and freeze its training snapshot (clearing a previous attempt's files); what the
    run ingested is counted from the manifest (``ingested_files.run_id``), over all its attempts.

    Returns the run (``resolve_run``), the record every later step of the night is keyed by."""
    from jobs.train.snapshot import write_snapshot

    orchestrator, settings = _orchestrator(settings), _settings(settings, params)
    run = resolve_run(settings, run_id, interval_start, interval_end, as_of)
    runlock.claim(settings, run.run_id, orchestrator)
    files = settings.layout.run(run.key)
    for folder in files.RESTARTED:
        shutil.rmtree(files.root / folder, ignore_errors=True)
    with warehouse.connect(settings) as con:
        warehouse.record_start(con, run, utcnow())
        warehouse.fail_stale_runs(con, run.run_id, utcnow())
        counts = write_snapshot(con, files, run.as_of)
        if counts["interactions"] == 0:
            warehouse.record_finish(con, run.run_id, "failed", utcnow(), "no ratings before the cut-off")
            raise RuntimeError(f"run {run.run_id}: no ratings before {run.as_of}; ingest data into {settings.landing_dir} first")
        warehouse.record_counts(con, run.run_id, counts)
    return run.to_xcom()


def candidates(run: RunContext | dict, params: Params = None, settings: Settings | None = None) -> list[str]:
    """What to evaluate tonight: the trigger's models (or the configured ones), plus the reigning champion's
    configuration when none of them is it (the gate judges both on tonight's holdout), less those the night's
    time budget cannot afford (skipped with their reason: ``jobs.train.budget``)."""
    from jobs.train.gate import candidates_for

    settings, run = _begin(run, params, settings)
    with warehouse.connect(settings) as con:  # records the candidates the time budget skips
        return candidates_for(settings, con, run)


@_step
def evaluate_candidate(run: RunContext | dict, model: str, params: Params = None,
                       settings: Settings | None = None) -> dict[str, Any]:
    """Fit and evaluate one candidate (``model``), or the reigning champion's configuration (``reigning``)."""
    from jobs.train.candidates import evaluate_candidate
    from jobs.train.gate import REIGNING, previous_reign

    settings, run = _begin(run, params, settings)
    if model != REIGNING:
        return evaluate_candidate(settings, run, model)
    with warehouse.connect(settings, read_only=True) as con:
        reign = previous_reign(con, run.run_id)
    return evaluate_candidate(settings, run, reign.model, reign.params, key=REIGNING)


@_step
def choose_champion(run: RunContext | dict, params: Params = None, settings: Settings | None = None) -> dict[str, Any]:
    """The gate: record tonight's metrics and decide which model scores (``force_publish`` crowns tonight's best)."""
    from jobs.train.gate import select_champion

    settings, run = _begin(run, params, settings)
    with warehouse.connect(settings) as con:
        champion = select_champion(settings, run, con, utcnow(), force_promote=_forced(params))
    return champion.to_xcom()


@_step
def fit_champion(run: RunContext | dict, champion: Champion | dict, params: Params = None,
                 settings: Settings | None = None) -> dict[str, Any]:
    """Refit the configuration that serves on all of tonight's data (only the winner: a loser's refit would be
    thrown away). Returns the champion."""
    from jobs.train.candidates import fit_champion

    settings, run = _begin(run, params, settings)
    champion = Champion.from_xcom(champion)
    fit_champion(settings, run, champion.candidate or champion.model)
    return champion.to_xcom()


# --- score ----------------------------------------------------------------------------------------------------


@_step
def popular_items(run: RunContext | dict, params: Params = None, settings: Settings | None = None) -> dict[str, Any]:
    from jobs.score.popular import write_popular_items

    return write_popular_items(*_begin(run, params, settings))


def shards(params: Params = None, settings: Settings | None = None) -> list[int]:
    return list(range(max(1, _settings(settings, params).score.shards)))


@_step
def score_shard(run: RunContext | dict, champion: Champion | dict, shard: int, params: Params = None,
                settings: Settings | None = None) -> dict[str, Any]:
    from jobs.score.shards import score_shard

    settings, run = _begin(run, params, settings)
    return score_shard(settings, run, Champion.from_xcom(champion), shard, settings.score.shards)


@_step
def similar_items(run: RunContext | dict, champion: Champion | dict, params: Params = None,
                  settings: Settings | None = None) -> dict[str, Any]:
    from jobs.score.similar import write_similar_items

    return write_similar_items(*_begin(run, params, settings), Champion.from_xcom(champion))


# --- publish --------------------------------------------------------------------------------------------------


@_step
def build_release(run: RunContext | dict, params: Params = None, settings: Settings | None = None) -> dict[str, Any]:
    """Build the release aside and run the output checks; a failure publishes nothing."""
    from jobs.publish import release

    settings, run = _begin(run, params, settings)
    with warehouse.connect(settings) as con:
        counts = release.build_release(settings, run, con, utcnow())
    checked = release.check_release(settings, run, force=_forced(params))
    return {**counts, **checked}


@_step
def publish(run: RunContext | dict, params: Params = None, settings: Settings | None = None) -> dict[str, Any]:
    from jobs.publish.swap import publish

    settings, run = _begin(run, params, settings)
    published_at = utcnow()
    result = publish(settings, run, published_at, force=_forced(params))
    with warehouse.connect(settings) as con:
        warehouse.record_finish(con, run.run_id, "published", published_at, result["held"] or None)
    return result


@_step
def write_report(run: RunContext | dict, params: Params = None, settings: Settings | None = None) -> dict[str, Any]:
    from jobs.publish.report import write_report
    from jobs.ui.report import write_html_report

    settings, run = _begin(run, params, settings)
    path = write_report(settings, run)
    html_path = write_html_report(settings, run)  # the same report with plots, beside it
    runlock.release(settings, run.run_id)  # the run is over
    return {"report": str(path), "html_report": str(html_path)}


def on_failure(run_id: str, message: str, params: Params = None) -> None:
    """Record a failed task's run as failed in the warehouse's runs table, and let go of the home."""
    settings = _settings(None, params)
    warehouse.mark_failed(settings, RunContext(run_id=run_id), message)
    runlock.release(settings, run_id)


# --- tune -----------------------------------------------------------------------------------------------------


def freeze_tuning_snapshot(interval_end: datetime | None, params: Params = None,
                           settings: Settings | None = None) -> dict[str, Any]:
    from jobs.train.tune import freeze_tuning_snapshot

    return freeze_tuning_snapshot(_settings(settings, params), naive_utc(interval_end) if interval_end else None)


def tuning_models(params: Params = None, settings: Settings | None = None) -> list[str]:
    """The models to tune: the trigger's choice or the configured candidates."""
    return list(_settings(settings, params).train.models)


def tune_model(model: str, params: Params = None, settings: Settings | None = None) -> dict[str, Any]:
    """More trials of ``model``'s study, within ``[tune]`` trials and minutes (or the trigger's)."""
    from jobs.train.tune import tune_model

    return tune_model(_settings(settings, params), model)


# --- the whole night, in this process ----------------------------------------------------------------------------


def run_nightly(settings: Settings, run_id: str | None = None, as_of: datetime | None = None,
                force_publish: bool = False, skip_ingest: bool = False) -> dict[str, Any]:
    """Every step of ``recs_nightly`` in order, in this process (what ``recs run`` does)."""
    given = {"settings": settings, "params": {"force_publish": force_publish}}
    # The run id may come from the data, known only after ingest: the claim is made first, under a provisional id.
    provisional = run_id or f"recs run (pid {os.getpid()})"
    runlock.claim(settings, provisional, "cli")  # before anything changes
    try:
        return _night(settings, run_id, provisional, as_of, skip_ingest, given)
    finally:
        runlock.release(settings, None)


def _night(settings: Settings, run_id: str | None, provisional: str, as_of: datetime | None, skip_ingest: bool,
           given: dict[str, Any]) -> dict[str, Any]:
    ingested = ingest_files(**given, run_id=provisional) if not skip_ingest else {}
    run = resolve_run(settings, run_id, as_of=as_of)
    if run.run_id != provisional:
        warehouse.attribute_ingest(settings, provisional, run.run_id)
    log.info("run %s: ratings before %s, models %s, top %d", run.run_id, run.as_of, list(settings.train.models),
             settings.score.top_n)
    try:
        run = freeze_snapshot(run.run_id, as_of=run.as_of, **given)
        for model in _progress(candidates(run, **given), "evaluate"):
            evaluate_candidate(run, model, **given)
        champion = fit_champion(run, choose_champion(run, **given), **given)
        popular_items(run, **given)
        for shard in shards(**given):
            score_shard(run, champion, shard, **given)
        similar_items(run, champion, **given)
        built = build_release(run, **given)
        published = publish(run, **given)
        reported = write_report(run, **given)
    except BaseException as exc:
        warehouse.mark_failed(settings, RunContext.from_xcom(run), f"{type(exc).__name__}: {exc}")
        raise
    from jobs.publish.release import TABLES

    return {"run": run, "ingested": ingested, "champion": champion,
            "tables": {k: v for k, v in built.items() if k in TABLES}, **published, **reported}


def _progress(items: Any, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=None, file=sys.stderr)
