"""The nightly pipeline as steps: one function per Airflow task, and ``run_nightly`` chaining them for the CLI.

Steps take the run (a ``RunContext`` dict, as it travels through XCom) and the trigger's overrides, and
return small JSON-able dicts (paths and counts): data moves through files and tables, never XCom.
Every step is idempotent per run: a retry or a rerun of the same run id overwrites that run's own files
and rows and nothing else.
"""

from __future__ import annotations

import functools
import logging
import shutil
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from jobs import champion as champion_step
from jobs import publish as publish_step
from jobs import release, report, score, similar, train, warehouse
from jobs.config import Settings, load_settings
from jobs.faults import maybe_crash
from jobs.ingest import ingest_landing
from jobs.runs import RunContext, record_start, record_update
from jobs.snapshot import write_snapshot

log = logging.getLogger("recs.pipeline")


def _step(name: str):
    """Mark a pipeline step: fault injection can kill the process just before or just after it (tests)."""

    def wrap(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            maybe_crash(f"before:{name}")
            result = fn(*args, **kwargs)
            maybe_crash(f"after:{name}")
            return result

        return run

    return wrap


def utcnow() -> datetime:
    """Wall-clock time for audit columns only (started_at, published_at); never a key or a data cut-off."""
    return datetime.now(UTC).replace(tzinfo=None)


def settings_for(overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from the environment with a trigger's overrides (top_n, models, shards) applied."""
    overrides = overrides or {}
    score_over = {k: overrides[k] for k in ("top_n", "shards") if overrides.get(k) is not None}
    train_over = {"models": tuple(overrides["models"])} if overrides.get("models") else {}
    return load_settings().with_overrides(score=score_over, train=train_over)


@_step("ingest")
def ingest(settings: Settings) -> dict[str, Any]:
    """Ingest every new landing file. "Future" timestamps are judged against the moment of ingest, not the
    run's cut-off: a backfill's first run legitimately ingests the files of the days after it (its training
    snapshot then ignores them, via as_of)."""
    return ingest_landing(settings, as_of=utcnow()).to_dict()


@_step("prepare")
def prepare(settings: Settings, run: RunContext, ingested: dict[str, Any] | None = None) -> dict[str, Any]:
    """Record the run's start, freeze its training snapshot and popular items; clear a previous attempt's files."""
    run_dir = run.dir(settings)
    for folder in ("scores", "similar", "metrics", "models"):
        shutil.rmtree(run_dir / folder, ignore_errors=True)
    with warehouse.connect(settings) as con:
        record_start(con, run, utcnow())
        counts = write_snapshot(con, run_dir, run.as_of)
        if counts["interactions"] == 0:
            record_update(con, run.run_id, status="failed", finished_at=utcnow(), message="no ratings before the cut-off")
            raise RuntimeError(f"run {run.run_id}: no ratings before {run.as_of}; ingest data into {settings.landing_dir} first")
        record_update(
            con, run.run_id,
            rows_ingested=(ingested or {}).get("n_ratings_loaded", 0),
            rows_quarantined=(ingested or {}).get("n_ratings_quarantined", 0),
            users=counts["users"], items=counts["items"],
        )
    score.write_popular_items(settings, run)
    return counts


@_step("train_candidate")
def train_candidate(settings: Settings, run: RunContext, model: str) -> dict[str, Any]:
    return train.train_candidate(settings, run, model)


@_step("choose_champion")
def choose_champion(settings: Settings, run: RunContext, force_promote: bool = False) -> dict[str, Any]:
    with warehouse.connect(settings) as con:
        decision = champion_step.select_champion(settings, run, con, utcnow(), force_promote=force_promote)
    return {"model": decision.champion_model, "run_id": decision.champion_run_id, "decision": decision.decision,
            "reason": decision.reason}


@_step("fit_champion")
def fit_champion(settings: Settings, run: RunContext, champion: dict[str, Any]) -> dict[str, Any]:
    """Refit tonight's champion on all data (only the winner: a loser's refit would be thrown away); a kept
    champion of an earlier run scores with the artifact it already has. Returns ``champion`` for the next steps."""
    if champion["run_id"] == run.run_id:
        train.fit_final(settings, run, champion["model"])
    return champion


@_step("score_shard")
def score_shard(settings: Settings, run: RunContext, champion: dict[str, Any], shard: int, n_shards: int) -> dict[str, Any]:
    return score.score_shard(settings, run, champion, shard, n_shards)


@_step("similar_items")
def similar_items(settings: Settings, run: RunContext, champion: dict[str, Any]) -> dict[str, Any]:
    return similar.write_similar_items(settings, run, champion)


@_step("build_and_check")
def build_and_check(settings: Settings, run: RunContext, force: bool = False) -> dict[str, Any]:
    """Build the release aside and run the output checks; a failure publishes nothing."""
    with warehouse.connect(settings) as con:
        counts = release.build_release(settings, run, con, utcnow())
    checked = release.check_release(settings, run, settings.score.top_n, force=force)
    return {**counts, **checked}


@_step("publish")
def publish(settings: Settings, run: RunContext) -> dict[str, Any]:
    published_at = utcnow()
    result = publish_step.publish(settings, run, published_at)
    with warehouse.connect(settings) as con:
        record_update(con, run.run_id, status="published", finished_at=published_at)
    return result


@_step("write_report")
def write_report(settings: Settings, run: RunContext) -> dict[str, Any]:
    path = report.write_report(settings, run)
    return {"report": str(path)}


def mark_failed(settings: Settings, run: RunContext, message: str) -> None:
    """Record a failed run (called from the failure path; never raises over the original error)."""
    try:
        with warehouse.connect(settings) as con:
            record_update(con, run.run_id, status="failed", finished_at=utcnow(), message=message[:2000])
    except Exception:  # the warehouse itself may be what failed
        log.exception("could not record the failure of run %s", run.run_id)


def default_run(settings: Settings, run_id: str | None = None, as_of: datetime | None = None) -> RunContext:
    """For runs without an orchestrator: cut off at the end of the latest day with ratings (data, not the clock)."""
    if as_of is None:
        with warehouse.connect(settings) as con:
            latest = con.execute("select max(rated_at) from ratings").fetchone()[0]
        if latest is None:
            raise RuntimeError(f"the warehouse has no ratings; run `recs ingest` or put files into {settings.landing_dir}/ratings")
        as_of = datetime.combine(latest.date() + timedelta(days=1), datetime.min.time())
    logical_date = (as_of - timedelta(days=1)).date()
    return RunContext(run_id=run_id or f"cli__{logical_date.isoformat()}", logical_date=logical_date, as_of=as_of)


def run_nightly(settings: Settings, run_id: str | None = None, as_of: datetime | None = None,
                force_publish: bool = False, skip_ingest: bool = False) -> dict[str, Any]:
    """Every step of ``recs_nightly`` in order, in this process (what ``recs run`` does)."""
    ingested = ingest(settings) if not skip_ingest else {}
    run = default_run(settings, run_id, as_of)
    log.info("run %s: ratings before %s, models %s, top %d", run.run_id, run.as_of, list(settings.train.models),
             settings.score.top_n)
    try:
        counts = prepare(settings, run, ingested)
        for model in _progress(settings.train.models, "train"):
            train_candidate(settings, run, model)
        champion = fit_champion(settings, run, choose_champion(settings, run, force_publish))
        shards = settings.score.shards
        for shard in range(shards):
            score_shard(settings, run, champion, shard, shards)
        similar_items(settings, run, champion)
        built = build_and_check(settings, run, force_publish)
        published = publish(settings, run)
        reported = write_report(settings, run)
    except BaseException as exc:
        mark_failed(settings, run, f"{type(exc).__name__}: {exc}")
        raise
    return {"run": run.to_dict(), "ingested": ingested, "snapshot": counts, "champion": champion,
            "tables": {k: v for k, v in built.items() if k in release.TABLES}, **published, **reported}


def _progress(items: Any, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(items, desc=desc, disable=None, file=sys.stderr)
