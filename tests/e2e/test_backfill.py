"""A backfill through Airflow's scheduler (``airflow backfill create``) publishes the same per-day tables as
running those days one by one, and never makes an older day current over a newer one.

The backfill is made by the README's steps (`make airflow-home`, then `airflow ...` with only AIRFLOW_HOME set of
Airflow's settings, `--max-active-runs 1`), and its days run one at a time."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from jobs.config import load_settings
from jobs.sample.data import write_sample
from jobs.steps import run_nightly
from tests.support import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.airflow]


BIN = Path(sys.executable).parent
DAYS = ["2026-11-19", "2026-11-20"]
SAMPLE = {"end_date": date(2026, 11, 20), "days": 4, "n_users": 150, "n_items": 80, "n_ratings": 3000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def partition(home: Path, day: str) -> list[tuple]:
    path = home / "outputs" / "parquet" / "recommendations" / f"run_date={day}" / "*.parquet"
    return duckdb.sql(f"select user_id, rank, item_id, round(score, 4) from read_parquet('{path}') order by all").fetchall()


def airflow(env, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BIN / "airflow", *args], env=env, capture_output=True, text=True)


def readme_backfill_steps() -> list[list[str]]:
    """The `.venv/bin/airflow ...` commands of the README's backfill block, without the executable."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"^```bash\n(make airflow-home.*?)^```", text, flags=re.S | re.M).group(1)
    lines = block.replace("\\\n", " ").splitlines()
    return [line.split("#")[0].split()[1:] for line in lines if line.startswith(".venv/bin/airflow ")]


@pytest.fixture
def standalone(tmp_path):
    """A backfill of DAYS is queued in the metadata DB, then `airflow standalone` runs it.

    The DAG is serialised, unpaused and the backfill created before the scheduler starts: SQLite takes one
    writer at a time, and a CLI write racing the scheduler's fails with "database is locked" (it did in CI).
    """
    home = tmp_path / "backfilled"
    port = free_port()
    # Only AIRFLOW_HOME of Airflow's settings, as in the README (none inherited from `make test`'s environment):
    # dags_folder, plugins_folder, load_examples and the rest come from the airflow.cfg `make airflow-home` writes.
    shell = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env = {**shell, "PATH": f"{BIN}:{os.environ['PATH']}", "RECS_HOME": str(home),
           "AIRFLOW_HOME": str(tmp_path / "airflow_home")}
    setup = subprocess.run(["make", "-s", "-o", ".venv/.installed-stamp", "airflow-home",
                            f"AIRFLOW_HOME={env['AIRFLOW_HOME']}"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    env.update({
        # Paused at creation, then only recs_nightly is unpaused (backfills need it): recs_tune stays idle.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://localhost:{port}/execution/",
    })
    write_sample(home / "landing", **SAMPLE)
    steps = readme_backfill_steps()
    assert [s[:2] for s in steps] == [["db", "migrate"], ["dags", "reserialize"], ["dags", "unpause"],
                                      ["backfill", "create"]], steps
    # The README's days are eleven; these are the test's two.
    create = steps[-1]
    for flag, day in (("--from-date", DAYS[0]), ("--to-date", DAYS[-1])):
        create[create.index(flag) + 1] = day
    assert create[create.index("--max-active-runs") + 1] == "1", create
    for step in steps:
        done = airflow(env, *step)
        assert done.returncode == 0, (step, done.stderr[-3000:])
    log = (tmp_path / "standalone.log").open("w")
    proc = subprocess.Popen([BIN / "airflow", "standalone"], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    yield home, env
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def backfill_runs(env) -> list[dict]:
    out = airflow(env, "dags", "list-runs", "recs_nightly", "-o", "json")
    listing = [line for line in out.stdout.splitlines() if line.startswith("[")]  # warnings share stdout
    return [r for r in json.loads(listing[-1]) if r["run_id"].startswith("backfill__")] if listing else []


def test_backfill_equals_day_by_day(standalone, tmp_path):
    home, env = standalone
    deadline = time.monotonic() + 600
    while True:
        runs = backfill_runs(env)
        if len(runs) == len(DAYS) and all(r["state"] in ("success", "failed") for r in runs):
            break
        assert time.monotonic() < deadline, runs
        time.sleep(5)
    assert [r["state"] for r in runs] == ["success"] * len(DAYS), runs
    # One day at a time: each started after the one before it ended.
    runs.sort(key=lambda r: r["logical_date"])
    for before, after in zip(runs, runs[1:]):
        assert before["end_date"] <= after["start_date"], runs
    # The second day found nothing new to ingest (the first took every landing file), and its task log says so.
    logs = Path(env["AIRFLOW_HOME"]) / "logs" / "dag_id=recs_nightly" / f"run_id={runs[-1]['run_id']}"
    ingest_log = "".join(p.read_text() for p in logs.glob("task_id=ingest.ingest_files/**/*.log"))
    assert "0 new files in" in ingest_log and "republishes on the warehouse's data" in ingest_log, ingest_log[-3000:]

    # The same days one by one, in another home, without Airflow.
    one_by_one = load_settings(home=tmp_path / "one_by_one")
    write_sample(one_by_one.landing_dir, **SAMPLE)
    for day in DAYS:
        as_of = datetime.fromisoformat(day) + (datetime(2000, 1, 2) - datetime(2000, 1, 1))
        run_nightly(one_by_one, run_id=f"day-{day}", as_of=as_of)
    for day in DAYS:
        assert partition(home, day) == partition(one_by_one.home, day), day
        assert len(partition(home, day)) > 0
    # Whatever else ran (the scheduler's own latest run), an older day never became current over a newer one.
    current = json.loads((home / "outputs" / "current.json").read_text())
    assert current["run_date"] >= DAYS[-1]
