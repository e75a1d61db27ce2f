"""Publishing: a release is checked before it is seen, swapped in atomically, kept for rollback, pruned."""

import os
import subprocess
import sys
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import steps
from jobs.config import load_settings
from jobs.faults import CRASH_ENV
from jobs.publish.release import OutputCheckError, current
from tests.support.warehouse import published, seed_ratings, taste_ratings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path):
    s = load_settings(home=tmp_path).with_overrides(score={"top_n": 5}, train={"models": ("popularity", "ease")},
                                                    publish={"keep_versions": 2})
    seed_ratings(s, taste_ratings())
    return s


def run_ids(settings):
    return {r[0] for r in published(settings, "select distinct run_id from recommendations")}


def test_reader_of_the_old_version_is_undisturbed_by_a_publish(settings):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    reader = duckdb.connect(str(settings.layout.serving), read_only=True)
    before = reader.execute("select run_id, count(*) from recommendations group by run_id").fetchall()
    held = settings.layout.serving.open("rb")  # what any open reader holds: the old file's bytes
    old_bytes = held.read()
    steps.run_nightly(settings, run_id="night2", skip_ingest=True)
    # The new version is a different file swapped in by rename; the old one was never written to in place.
    held.seek(0)
    assert held.read() == old_bytes
    held.close()
    # The open connection still reads night 1, whole; a new one reads night 2.
    assert reader.execute("select run_id, count(*) from recommendations group by run_id").fetchall() == before
    reader.close()
    assert run_ids(settings) == {"night2"}


def test_failed_output_check_publishes_nothing(settings):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    given = {"settings": settings}
    run = steps.freeze_snapshot("night2", **given)
    steps.evaluate_candidate(run, "ease", **given)
    champion = steps.fit_champion(run, steps.choose_champion(run, **given), **given)
    steps.popular_items(run, **given)
    shard = steps.score_shard(run, champion, 0, **given)
    # Corrupt tonight's scores: recommend every user an item they already rated.
    table = pq.read_table(shard["path"]).to_pandas()
    snapshot = settings.layout.run("night2").snapshot
    history = duckdb.sql(f"select user_id, item_id from read_parquet('{snapshot}/interactions.parquet') "
                         f"join read_parquet('{snapshot}/users.parquet') using (user_index) "
                         f"join read_parquet('{snapshot}/items.parquet') using (item_index)").df()
    first_seen = history.groupby("user_id").item_id.first()
    table["item_id"] = table.apply(lambda r: first_seen[r.user_id] if r["rank"] == 1 else r.item_id, axis=1)
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), shard["path"])
    with pytest.raises(OutputCheckError, match="check_no_seen_items"):
        steps.build_release(run, **given)
    assert run_ids(settings) == {"night1"}
    assert current(settings)["run_id"] == "night1"


def test_rollback_and_retention(settings):
    for night in ("night1", "night2", "night3"):
        steps.run_nightly(settings, run_id=night, skip_ingest=True)
    kept = sorted(p.name for p in settings.layout.versions.glob("recs-*.duckdb"))
    assert kept == ["recs-night2.duckdb", "recs-night3.duckdb"]  # keep_versions = 2
    # night1's working folder went with its version (no kept version scores with its artifact)
    assert published(settings, "select champion_run_id from champions where run_id <> 'night1'") == [("night2",), ("night3",)]
    assert not settings.layout.run("night1").root.exists() and settings.layout.run("night2").root.exists()
    from jobs.publish.swap import rollback

    rollback(settings, "night2", datetime(2026, 11, 1))
    assert run_ids(settings) == {"night2"}
    with pytest.raises(FileNotFoundError, match="kept: recs-night2.duckdb, recs-night3.duckdb"):
        rollback(settings, "night1", datetime(2026, 11, 1))


@pytest.mark.parametrize("step", [
    "after:freeze_snapshot", "after:evaluate_candidate", "after:choose_champion", "after:fit_champion",
    "after:popular_items", "score:before_rename", "after:score_shard", "after:similar_items", "release:before_detach",
    "after:build_release", "publish:after_parquet_recommendations", "publish:before_swap",
])
def test_crash_mid_run_leaves_the_previous_version_served_and_a_rerun_completes(settings, step):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    n_before = published(settings, "select count(*) from recommendations")[0][0]
    code = (
        "from jobs.config import load_settings; from jobs.steps import run_nightly; "
        f"s = load_settings(home={str(settings.home)!r}).with_overrides(score={{'top_n': 5}}, train={{'models': ('ease',)}}); "
        "run_nightly(s, run_id='night2', skip_ingest=True)"
    )
    env = {**os.environ, CRASH_ENV: step}
    crashed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert crashed.returncode == 137, crashed.stderr[-2000:]
    assert run_ids(settings) == {"night1"}
    assert published(settings, "select count(*) from recommendations")[0][0] == n_before
    # The rerun of the same run id finishes with one complete version: no duplicates, no gaps.
    steps.run_nightly(settings.with_overrides(train={"models": ("ease",)}), run_id="night2", skip_ingest=True)
    assert run_ids(settings) == {"night2"}
    assert published(settings, "select count(*), count(distinct (user_id, item_id)) from recommendations")[0] == (600, 600)
    parquet = settings.layout.parquet / "recommendations"
    assert published(settings, f"select count(*) from read_parquet('{parquet}/*/*.parquet') where run_id = 'night2'")[0][0] == 600


def _night_with_only_popularity(settings, run_id):
    given = {"settings": settings.with_overrides(train={"models": ("popularity",)})}
    run = steps.freeze_snapshot(run_id, **given)
    for candidate in steps.candidates(run, **given):  # popularity, and the reigning champion's configuration
        steps.evaluate_candidate(run, candidate, **given)
    champion = steps.choose_champion(run, {"force_publish": True}, **given)  # crown the weak model
    steps.fit_champion(run, champion, **given)
    steps.popular_items(run, **given)
    steps.score_shard(run, champion, 0, **given)
    steps.similar_items(run, champion, **given)
    return run


def test_quality_gate_blocks_a_coverage_collapse_and_a_metric_drop_unless_forced(settings):
    steps.run_nightly(settings.with_overrides(train={"models": ("ease",)}), run_id="night1", skip_ingest=True)
    run = _night_with_only_popularity(settings, "night2")
    with pytest.raises(OutputCheckError) as failure:
        steps.build_release(run, settings=settings)
    assert "quality_coverage" in str(failure.value) and "quality_metric_drop" in str(failure.value)
    assert run_ids(settings) == {"night1"}
    # The operator's force_publish skips the quality gate (never the contract checks).
    steps.build_release(run, {"force_publish": True}, settings=settings)
    steps.publish(run, settings=settings)
    assert run_ids(settings) == {"night2"}


def test_publishes_take_turns(settings):
    """Two triggers at once: the second publish waits for the first's lock rather than interleaving."""
    from jobs.publish.swap import PublishBusy, publish_lock

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from jobs.config import load_settings; from jobs.publish.swap import publish_lock\n"
         f"with publish_lock(load_settings(home={str(settings.home)!r})):\n"
         "    print('held', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(PublishBusy):
            with publish_lock(settings, timeout_s=1.0):
                pass
    finally:
        holder.kill()
        holder.wait()
    with publish_lock(settings, timeout_s=5.0):  # released with its holder, even on a kill
        pass
