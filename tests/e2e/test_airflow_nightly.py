"""recs_nightly end to end through Airflow (``airflow dags test``, SQLite metadata) on the sample data.

The same commands as ``make demo``, in a temporary RECS_HOME and AIRFLOW_HOME, then SQL on what was published and on
what Airflow recorded (its SQLite metadata): run durations, the names of mapped task instances.
"""

import json
import os
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from jobs.sample.data import write_sample
from tests.support import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.airflow]


AIRFLOW = str(Path(sys.executable).parent / "airflow")


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("recs_home")
    env = {
        **os.environ,
        "RECS_HOME": str(home),
        "AIRFLOW_HOME": str(tmp_path_factory.mktemp("airflow_home")),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
    }
    write_sample(home / "landing", end_date=date(2026, 11, 20), days=14, n_users=300, n_items=200, n_ratings=12_000)
    migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    return home, env


def dags_test(env, logical_date, conf=None, dag_id="recs_nightly"):
    """``airflow dags test`` as ``make demo`` runs it (through jobs.dagtest: the run's real start is recorded)."""
    cmd = [sys.executable, "-m", "jobs.dagtest", dag_id, logical_date]
    if conf:
        cmd += ["--conf", json.dumps(conf)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    output = done.stdout + done.stderr
    finished = [line for line in output.splitlines() if "DagRun Finished" in line]
    assert done.returncode == 0 and finished and "state=success" in finished[-1], output[-6000:]
    return output


def query(home, sql):
    con = duckdb.connect(str(home / "outputs" / "recs.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_nightly_dag_publishes_n_unseen_recommendations_for_every_warehouse_user(airflow_env):
    home, env = airflow_env
    dags_test(env, "2026-11-21", {"top_n": 10, "shards": 2})
    warehouse = duckdb.connect(str(home / "outputs" / "warehouse.duckdb"), read_only=True)
    n_users = warehouse.execute("select count(distinct user_id) from ratings").fetchone()[0]
    n_items = warehouse.execute("select count(distinct item_id) from ratings").fetchone()[0]
    history = warehouse.execute("select distinct user_id, item_id from ratings").df()
    run_row = warehouse.execute("select status, champion_model from runs").fetchall()
    warehouse.close()

    assert query(home, "select count(distinct user_id) from recommendations")[0][0] == n_users
    per_user = query(home, "select user_id, count(*), min(rank), max(rank) from recommendations group by user_id")
    assert all(n == 10 and lo == 1 and hi == 10 for _, n, lo, hi in per_user) or n_items < 20
    con = duckdb.connect()
    con.register("history", history)
    seen = con.execute(
        f"select count(*) from read_parquet('{home}/outputs/parquet/recommendations/run_date=2026-11-20/*.parquet') r "
        "join history h using (user_id, item_id)").fetchone()[0]
    assert seen == 0
    assert run_row == [("published", run_row[0][1])]
    # Two shards were scored and assembled into one table.
    assert len(list((home / "outputs" / "runs").glob("*/scores/part-*.parquet"))) == 2
    assert query(home, "select count(*) from popular_items")[0][0] > 0
    assert query(home, "select count(distinct method) from similar_items")[0][0] >= 1


def metadata(env, sql):
    con = sqlite3.connect(Path(env["AIRFLOW_HOME"]) / "airflow.db")
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_the_run_is_recorded_with_its_real_duration_and_mapped_instances_by_name(airflow_env):
    _, env = airflow_env
    # The data interval is the sample's last day, the start is when it ran: not 2026-11-21 00:00 (days before).
    runs = metadata(env, "select logical_date, data_interval_start, data_interval_end, "
                         "(julianday(end_date) - julianday(start_date)) * 86400, (julianday('now') - julianday(start_date)) "
                         "* 86400 from dag_run where dag_id = 'recs_nightly'")
    assert runs and all(r[:3] == ("2026-11-21 00:00:00.000000", "2026-11-20 00:00:00.000000", "2026-11-21 00:00:00.000000")
                        for r in runs), runs
    assert all(0 < seconds < 900 and since < 3600 for *_, seconds, since in runs), runs
    names = metadata(env, "select task_id, map_index, rendered_map_index from task_instance "
                          "where dag_id = 'recs_nightly' and map_index >= 0 order by 1, 2")
    assert [n for n in names if n[0] == "score.score_shard"] == [("score.score_shard", 0, "shard 1 of 2"),
                                                                  ("score.score_shard", 1, "shard 2 of 2")], names
    models = [n[2] for n in names if n[0] == "train.evaluate_candidate"]
    assert models and all(name and not name.isdigit() for name in models), names


def test_the_tuning_dag_names_its_instances_by_model(airflow_env):
    _, env = airflow_env
    dags_test(env, "2026-11-22", {"models": ["popularity", "ease"], "trials": 1, "minutes": 0.5}, dag_id="recs_tune")
    names = metadata(env, "select map_index, rendered_map_index from task_instance "
                          "where dag_id = 'recs_tune' and task_id = 'tune_model' order by 1")
    assert names == [(0, "popularity"), (1, "ease")], names


def test_rerunning_the_same_day_publishes_the_same_rows(airflow_env):
    home, env = airflow_env
    before = query(home, "select user_id, rank, item_id, round(score, 5) from recommendations order by all")
    output = dags_test(env, "2026-11-21", {"top_n": 10, "shards": 2})
    after = query(home, "select user_id, rank, item_id, round(score, 5) from recommendations order by all")
    assert before == after
    # Nothing new landed: the task log says so, and what tonight publishes.
    assert "0 new files in" in output and "republishes on the warehouse's data" in output, output[-6000:]
