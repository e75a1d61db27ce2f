"""One run at a time, and honest run records: a second run fails at once and changes nothing, a locked warehouse
says who holds it, and the runs table describes what happened across attempts."""

import logging
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from jobs import steps, warehouse
from jobs.config import load_settings
from jobs.runlock import RunLocked, claim
from jobs.warehouse import WarehouseBusy
from tests.support.warehouse import seed_ratings, taste_ratings

pytestmark = pytest.mark.slow
RECS = str(Path(sys.executable).parent / "recs")


@pytest.fixture
def settings(tmp_path):
    s = load_settings(home=tmp_path).with_overrides(score={"top_n": 3}, train={"models": ("popularity",)})
    seed_ratings(s, taste_ratings(n_users=40, n_items=20))
    return s


def runs(settings):
    with warehouse.connect(settings, read_only=True) as con:
        return con.execute("select run_id, status, rows_ingested, rows_quarantined, message from runs "
                           "order by started_at").fetchall()


def holder_process(settings, run_id: str) -> subprocess.Popen:
    """Another `recs run` in progress: a process that claims the home and keeps running."""
    code = ("import time; from jobs.config import load_settings; from jobs.runlock import claim; "
            f"claim(load_settings(home={str(settings.home)!r}), {run_id!r}, 'cli'); print('held', flush=True); "
            "time.sleep(60)")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_run_on_the_same_home_fails_at_once_and_changes_nothing(settings):
    (settings.landing_dir / "ratings").mkdir(parents=True)
    (settings.landing_dir / "ratings" / "new.csv").write_text("user_id,item_id,rating,timestamp\nz,1,4,1790000000\n")
    holder = holder_process(settings, "cli__first")
    try:
        started = time.monotonic()
        done = subprocess.run([RECS, "run"], env={**os.environ, "RECS_HOME": str(settings.home)}, capture_output=True,
                              text=True, timeout=120)
        assert time.monotonic() - started < 30  # at once, not after a lock wait
        assert done.returncode != 0
        assert f"another run (pid {holder.pid} on " in done.stderr and "run id cli__first" in done.stderr
        assert f"holds {settings.home}" in done.stderr
        with warehouse.connect(settings, read_only=True) as con:
            assert con.execute("select count(*) from runs").fetchone() == (0,)
            assert con.execute("select count(*) from ingested_files").fetchone() == (0,)
        with pytest.raises(RunLocked):
            claim(settings, "another", "airflow")
    finally:
        holder.kill()
        holder.wait()
    # A holder whose process is gone is stale: the next run takes over.
    steps.run_nightly(settings, run_id="night1")
    assert [r[:2] for r in runs(settings)] == [("night1", "published")]
    assert not settings.layout.run_lock.exists()


def test_a_locked_warehouse_names_its_holder_at_once_and_fails_with_advice(settings, caplog):
    """A read-only connection made a run wait 303 s in silence, then die with a raw lock traceback."""
    code = (f"import duckdb, time; con = duckdb.connect({str(settings.layout.warehouse)!r}, read_only=True); "
            "print('open', flush=True); time.sleep(60)")
    reader = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        quick = settings.with_overrides(warehouse={"lock_wait_seconds": 1.0})
        with caplog.at_level(logging.WARNING, logger="recs.warehouse"), pytest.raises(WarehouseBusy) as caught:
            with warehouse.connect(quick):
                pass
        message = str(caught.value)
        assert f"(PID {reader.pid})" in message and "read-only" in message and "recs.duckdb" in message
        assert any(f"PID {reader.pid}" in r.getMessage() for r in caplog.records)  # said while waiting
    finally:
        reader.kill()
        reader.wait()


def test_a_rerun_keeps_what_the_run_ingested_and_a_dead_running_row_is_marked_failed(settings, caplog):
    """A rerun rewrote rows_ingested from 600 to 0; a run that died without recording it stayed `running`."""
    (settings.landing_dir / "ratings").mkdir(parents=True)
    rows = "".join(f"u{u},i{i},4,1790000000\n" for u in range(30) for i in range(20))
    (settings.landing_dir / "ratings" / "day.csv").write_text("user_id,item_id,rating,timestamp\n" + rows + "x,,4,1\n")
    steps.run_nightly(settings, run_id="night1")
    assert runs(settings)[0][:4] == ("night1", "published", 600, 1)
    with caplog.at_level(logging.WARNING, logger="recs.steps"):
        steps.run_nightly(settings, run_id="night1")  # the same day again: the files are already ingested
    assert runs(settings)[0][:4] == ("night1", "published", 600, 1)
    said = [r.getMessage() for r in caplog.records if "0 new files in" in r.getMessage()]  # said, not silent
    assert said and "(1 already ingested)" in said[0] and "republishes on the warehouse's data" in said[0], said
    with warehouse.connect(settings) as con:  # a run that died on a full disk, before recording anything
        con.execute("insert into runs (run_id, status, started_at) values ('night0', 'running', $t)",
                    {"t": datetime(2026, 1, 1)})
    steps.run_nightly(settings, run_id="night2", skip_ingest=True)
    dead = next(r for r in runs(settings) if r[0] == "night0")
    assert dead[1] == "failed" and "stopped without recording its end (found by run night2)" in dead[4]


def test_the_run_lock_lets_a_runs_own_tasks_and_retries_through(settings):
    assert claim(settings, "scheduled__1", "airflow") is None
    assert claim(settings, "scheduled__1", "airflow") is None  # a retry, another task of the run
    os.utime(settings.layout.run_lock, (0, 0))  # no step of it has run for longer than the DAG's timeout
    replaced = claim(settings, "scheduled__2", "airflow")
    assert replaced is not None and replaced.run_id == "scheduled__1"
    con = duckdb.connect()  # the lock file is small JSON a person can read
    assert con.execute(f"select run_id from read_json('{settings.layout.run_lock}')").fetchone() == ("scheduled__2",)


def test_one_bad_file_never_stops_the_night_and_the_report_says_what_was_set_aside(settings, caplog):
    """A bad landing file (here: changed after it was ingested, and an unreadable one) failed every run until
    someone deleted it."""
    folder = settings.landing_dir / "ratings"
    folder.mkdir(parents=True)
    good = folder / "a.csv"
    good.write_text("user_id,item_id,rating,timestamp\nu1,i1,4,1790000000\n")
    steps.run_nightly(settings, run_id="night1")
    good.write_text("user_id,item_id,rating,timestamp\nu1,i1,5,1790000000\n")  # changed under its ingested name
    (folder / "b.parquet").write_bytes(b"PAR1 not really")
    os.utime(folder / "b.parquet", (0, 0))
    (folder / "c.csv").write_text("user_id,item_id,rating,timestamp\nu2,i2,3,1790000001\n")
    with caplog.at_level(logging.WARNING, logger="recs.ingest"):
        summary = steps.run_nightly(settings, run_id="night2")
    assert [r[:2] for r in runs(settings)][-1] == ("night2", "published")
    assert {Path(s["path"]).name: s["outcome"] for s in summary["ingested"]["set_aside"]} == {
        "a.csv": "set_aside", "b.parquet": "set_aside"}
    assert sum("set aside landing/ratings/a.csv" in r.getMessage() for r in caplog.records) == 1
    report = settings.layout.report("night2").read_text()
    assert "Landing files not ingested" in report and "b.parquet" in report and "it changed" in report
    assert runs(settings)[-1][2] == 1  # c.csv's one rating
