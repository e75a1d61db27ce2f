"""Publishing: a release is checked before it is seen, swapped in atomically, kept for rollback, pruned."""

import os
import subprocess
import sys
from datetime import datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs import pipeline
from jobs.config import load_settings
from jobs.faults import CRASH_ENV
from jobs.publish import current
from jobs.release import OutputCheckError
from tests.pipeline_helpers import published, seed_ratings, taste_ratings

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
    pipeline.run_nightly(settings, run_id="night1", skip_ingest=True)
    reader = duckdb.connect(str(settings.serving_path), read_only=True)
    before = reader.execute("select run_id, count(*) from recommendations group by run_id").fetchall()
    held = settings.serving_path.open("rb")  # what any open reader holds: the old file's bytes
    old_bytes = held.read()
    pipeline.run_nightly(settings, run_id="night2", skip_ingest=True)
    # The new version is a different file swapped in by rename; the old one was never written to in place.
    held.seek(0)
    assert held.read() == old_bytes
    held.close()
    # The open connection still reads night 1, whole; a new one reads night 2.
    assert reader.execute("select run_id, count(*) from recommendations group by run_id").fetchall() == before
    reader.close()
    assert run_ids(settings) == {"night2"}


def test_failed_output_check_publishes_nothing(settings):
    pipeline.run_nightly(settings, run_id="night1", skip_ingest=True)
    run = pipeline.default_run(settings, "night2")
    pipeline.prepare(settings, run)
    pipeline.train_candidate(settings, run, "ease")
    champion = pipeline.fit_champion(settings, run, pipeline.choose_champion(settings, run))
    shard = pipeline.score_shard(settings, run, champion, 0, 1)
    # Corrupt tonight's scores: recommend every user an item they already rated.
    table = pq.read_table(shard["path"]).to_pandas()
    history = duckdb.sql(f"select user_id, item_id from read_parquet('{run.dir(settings)}/snapshot/interactions.parquet') "
                         f"join read_parquet('{run.dir(settings)}/snapshot/users.parquet') using (user_index) "
                         f"join read_parquet('{run.dir(settings)}/snapshot/items.parquet') using (item_index)").df()
    first_seen = history.groupby("user_id").item_id.first()
    table["item_id"] = table.apply(lambda r: first_seen[r.user_id] if r["rank"] == 1 else r.item_id, axis=1)
    pq.write_table(pa.Table.from_pandas(table, preserve_index=False), shard["path"])
    with pytest.raises(OutputCheckError, match="check_no_seen_items"):
        pipeline.build_and_check(settings, run)
    assert run_ids(settings) == {"night1"}
    assert current(settings)["run_id"] == "night1"


def test_rollback_and_retention(settings):
    for night in ("night1", "night2", "night3"):
        pipeline.run_nightly(settings, run_id=night, skip_ingest=True)
    kept = sorted(p.name for p in settings.versions_dir.glob("recs-*.duckdb"))
    assert kept == ["recs-night2.duckdb", "recs-night3.duckdb"]  # keep_versions = 2
    # night1's working folder went with its version (no kept version scores with its artifact)
    assert published(settings, "select champion_run_id from champions where run_id <> 'night1'") == [("night2",), ("night3",)]
    assert not settings.run_dir("night1").exists() and settings.run_dir("night2").exists()
    from jobs.publish import rollback

    rollback(settings, "night2", datetime(2026, 11, 1))
    assert run_ids(settings) == {"night2"}
    with pytest.raises(FileNotFoundError, match="kept: recs-night2.duckdb, recs-night3.duckdb"):
        rollback(settings, "night1", datetime(2026, 11, 1))


@pytest.mark.parametrize("step", [
    "after:prepare", "after:train_candidate", "after:choose_champion", "after:fit_champion", "score:before_rename",
    "after:score_shard",
    "after:similar_items", "release:before_detach", "after:build_and_check", "publish:after_parquet_recommendations",
    "publish:before_swap",
])
def test_crash_mid_run_leaves_the_previous_version_served_and_a_rerun_completes(settings, step):
    pipeline.run_nightly(settings, run_id="night1", skip_ingest=True)
    n_before = published(settings, "select count(*) from recommendations")[0][0]
    code = (
        "from jobs.config import load_settings; from jobs.pipeline import run_nightly; "
        f"s = load_settings(home={str(settings.home)!r}).with_overrides(score={{'top_n': 5}}, train={{'models': ('ease',)}}); "
        "run_nightly(s, run_id='night2', skip_ingest=True)"
    )
    env = {**os.environ, CRASH_ENV: step}
    crashed = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert crashed.returncode == 137, crashed.stderr[-2000:]
    assert run_ids(settings) == {"night1"}
    assert published(settings, "select count(*) from recommendations")[0][0] == n_before
    # The rerun of the same run id finishes with one complete version: no duplicates, no gaps.
    pipeline.run_nightly(settings.with_overrides(train={"models": ("ease",)}), run_id="night2", skip_ingest=True)
    assert run_ids(settings) == {"night2"}
    assert published(settings, "select count(*), count(distinct (user_id, item_id)) from recommendations")[0] == (600, 600)
    parquet = settings.parquet_dir / "recommendations"
    assert published(settings, f"select count(*) from read_parquet('{parquet}/*/*.parquet') where run_id = 'night2'")[0][0] == 600


def _night_with_only_popularity(settings, run_id):
    run = pipeline.default_run(settings, run_id)
    pipeline.prepare(settings, run)
    pipeline.train_candidate(settings, run, "popularity")
    champion = pipeline.choose_champion(settings, run, force_promote=True)  # crown the weak model
    pipeline.fit_champion(settings, run, champion)
    pipeline.score_shard(settings, run, champion, 0, 1)
    pipeline.similar_items(settings, run, champion)
    return run


def test_quality_gate_blocks_a_coverage_collapse_and_a_metric_drop_unless_forced(settings):
    pipeline.run_nightly(settings.with_overrides(train={"models": ("ease",)}), run_id="night1", skip_ingest=True)
    run = _night_with_only_popularity(settings, "night2")
    with pytest.raises(OutputCheckError) as failure:
        pipeline.build_and_check(settings, run)
    assert "quality_coverage" in str(failure.value) and "quality_metric_drop" in str(failure.value)
    assert run_ids(settings) == {"night1"}
    # The operator's force_publish skips the quality gate (never the contract checks).
    pipeline.build_and_check(settings, run, force=True)
    pipeline.publish(settings, run)
    assert run_ids(settings) == {"night2"}


def test_publishes_take_turns(settings):
    """Two triggers at once: the second publish waits for the first's lock rather than interleaving."""
    from jobs.publish import PublishBusy, publish_lock

    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from jobs.config import load_settings; from jobs.publish import publish_lock\n"
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
