"""recs_nightly on the CeleryExecutor: PostgreSQL, Redis and two Celery workers on this machine (``jobs.stack``).

The stack ``make airflow-celery`` starts, with the sample data in a temporary RECS_HOME. Runs are triggered through
the REST API; where tasks ran is read from Airflow's own records (each worker's task instances carry its Celery
node name as their hostname). Only the failure detection is shortened here (heartbeat timeout, retry delay), so
that a killed worker's task is retried within seconds instead of minutes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from jobs.sample.data import write_sample
from jobs.stack.airflow import ADMIN_USER, StackConfig, down, kill_worker, up, workers
from jobs.stack.api import AirflowAPI
from jobs.stack.services import StackError, ensure_packages, free_port

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

DAG = "recs_nightly"
SAMPLE = dict(end_date=date(2026, 11, 20), days=14, n_users=300, n_items=200, n_ratings=12_000)
CONF = {"shards": 4, "top_n": 10}
DEFAULT_WORKER, TRAIN_WORKER = (w.hostname() for w in workers())
#: Detect a lost task in seconds, retry it 5 s later (Airflow's defaults: 5 minutes, then the DAG's 2).
FAST_RECOVERY = {
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
}


@pytest.fixture(scope="module")
def stack():
    try:
        ensure_packages()
    except StackError as exc:
        pytest.skip(f"the Celery stack needs PostgreSQL and Redis: {exc}")
    # Not under pytest's tmp_path: its folders are private to root, and PostgreSQL runs as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="recs-celery-"))
    root.chmod(0o755)
    home = root / "home"
    write_sample(home / "landing", **SAMPLE)
    (root / "fast.toml").write_text("[airflow]\nretry_delay_seconds = 5\n")
    config = StackConfig(state=root / "stack", home=home, api_port=free_port(),
                         extra_env={**FAST_RECOVERY, "RECS_CONFIG": str(root / "fast.toml")})
    try:
        up(config)
        api = AirflowAPI(config.base_url, ADMIN_USER, config.password())
        api.wait_for_dag(DAG)
        yield config, api, root
    finally:
        down(config)
        shutil.rmtree(root, ignore_errors=True)


def _latest_interval_start() -> datetime:
    """The logical date of the last complete daily interval: the run the scheduler would create on unpausing, so
    triggering it first leaves the scheduler nothing to add beside the runs under test."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def _published(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


RECOMMENDED = "select user_id, rank, item_id from recommendations order by all"


def test_shards_spread_over_both_workers_and_training_stays_on_its_queue(stack, tmp_path):
    config, api, root = stack
    run_id = api.trigger(DAG, _latest_interval_start().isoformat(), CONF)
    api.unpause(DAG)
    run = api.wait(DAG, run_id)
    assert run["state"] == "success", (run, api.task_instances(DAG, run_id))

    tis = api.task_instances(DAG, run_id)
    shards = [ti for ti in tis if ti["task_id"] == "score.score_shard"]
    assert len(shards) == 4 and {ti["state"] for ti in shards} == {"success"}
    assert {ti["hostname"] for ti in shards} == {DEFAULT_WORKER, TRAIN_WORKER}
    training = [ti for ti in tis if ti["task_id"] in ("train.evaluate_candidate", "train.fit_champion")]
    assert training and all(ti["queue"] == config.train_queue for ti in training)
    assert {ti["hostname"] for ti in training} == {TRAIN_WORKER}

    # The same data through `recs run` in a home of its own: the same users, the same item at every rank.
    alone = tmp_path / "alone"
    write_sample(alone / "landing", **SAMPLE)
    done = subprocess.run([str(Path(sys.executable).parent / "recs"), "run", "--top-n", str(CONF["top_n"]),
                           "--as-of", run["data_interval_end"]],
                          env={**os.environ, "RECS_HOME": str(alone)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    celery = _published(config.home / "outputs" / "recs.duckdb", RECOMMENDED)
    assert celery and celery == _published(alone / "outputs" / "recs.duckdb", RECOMMENDED)


def test_a_run_completes_when_a_worker_is_killed_in_the_middle(stack):
    config, api, _ = stack
    before = _published(config.home / "outputs" / "recs.duckdb", RECOMMENDED)
    day = _latest_interval_start() - timedelta(days=1)
    run_id = api.trigger(DAG, day.isoformat(), CONF)
    killed = []

    def kill_during_scoring(tis):
        running_there = [ti for ti in tis if ti["state"] == "running" and ti["hostname"] == DEFAULT_WORKER
                         and ti["task_id"].startswith("score.")]
        if running_there and not killed:
            kill_worker(config, "default")
            killed.extend(running_there)

    run = api.wait(DAG, run_id, poll=kill_during_scoring)
    assert killed, "no scoring task ran on the default worker"
    assert run["state"] == "success", (run, api.task_instances(DAG, run_id))

    # What the dead worker was running failed there and was retried on the surviving one.
    tries = api.tries(DAG, run_id)
    for lost in killed:
        of_it = sorted((t for t in tries if (t["task_id"], t["map_index"]) == (lost["task_id"], lost["map_index"])),
                       key=lambda t: t["try_number"])
        assert [(t["hostname"], t["state"]) for t in of_it][0] == (DEFAULT_WORKER, "failed")
        assert (of_it[-1]["hostname"], of_it[-1]["state"]) == (TRAIN_WORKER, "success")

    # This older day is published as its own Parquet partition: every user once per rank, nothing lost or
    # duplicated, the same lists as the night before (no new data came in between).
    run_date = run["data_interval_start"][:10]
    partition = config.home / "outputs" / "parquet" / "recommendations" / f"run_date={run_date}"
    rows = duckdb.sql(f"select user_id, rank, item_id from read_parquet('{partition}/*.parquet') order by all")
    assert rows.fetchall() == before
    duplicates = duckdb.sql(f"select count(*) - count(distinct (user_id, rank)) from read_parquet('{partition}/*.parquet')")
    assert duplicates.fetchall() == [(0,)]
