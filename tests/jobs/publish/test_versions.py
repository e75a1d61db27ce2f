"""Published versions cannot be changed in practice, names never collide, the Parquet tree moves whole, and a
rollback sticks. Each case failed before the hardening it tests."""

import os
import subprocess
import sys

import duckdb
import pytest

from jobs import steps
from jobs.config import load_settings
from jobs.faults import CRASH_ENV
from jobs.publish.release import current
from jobs.publish.swap import VersionChanged, rollback
from tests.support.warehouse import published, seed_ratings, taste_ratings

pytestmark = pytest.mark.slow


@pytest.fixture
def settings(tmp_path):
    s = load_settings(home=tmp_path).with_overrides(score={"top_n": 5}, train={"models": ("popularity",)},
                                                    publish={"keep_versions": 3})
    seed_ratings(s, taste_ratings())
    return s


def run_ids(settings):
    return {r[0] for r in published(settings, "select distinct run_id from recommendations")}


def parquet_tree(settings) -> dict[str, bytes]:
    root = settings.layout.parquet
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_read_write_open_of_the_serving_file_changes_no_kept_version_and_no_later_publish(settings):
    """recs.duckdb was a hard link to the kept version: a write through it changed the rollback copy, and the WAL
    it left made every later published version unreadable while the runs reported success."""
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    kept = settings.layout.version("night1").read_bytes()
    rogue = duckdb.connect(str(settings.layout.serving))  # any client without -readonly
    rogue.execute("delete from recommendations")
    rogue.execute("create table scribbles as select 1 as x")
    rogue.close()  # DuckDB may leave a WAL beside recs.duckdb
    wal = settings.layout.serving.with_name("recs.duckdb.wal")
    wal.write_bytes(b"a WAL that matches no published file")
    assert settings.layout.version("night1").read_bytes() == kept
    steps.run_nightly(settings, run_id="night2", skip_ingest=True)
    assert not wal.exists() and run_ids(settings) == {"night2"}  # readable, and tonight's
    rollback(settings, "night1", settings_now())
    assert run_ids(settings) == {"night1"}
    assert published(settings, "select count(*) from recommendations")[0][0] == 600


def settings_now():
    from jobs.clock import utcnow

    return utcnow()


def test_rollback_verifies_the_checksum_recorded_at_publish(settings):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    steps.run_nightly(settings, run_id="night2", skip_ingest=True)
    assert settings.layout.version_checksum("night1").read_text().strip() != ""
    con = duckdb.connect(str(settings.layout.version("night1")))  # someone changes a kept version
    con.execute("update recommendations set score = 0")
    con.close()
    with pytest.raises(VersionChanged, match="changed after it was published"):
        rollback(settings, "night1", settings_now())
    assert run_ids(settings) == {"night2"}


def test_run_ids_that_sanitise_alike_get_their_own_versions(settings):
    """--run-id x:1 and x_1 mapped to one version file: rollback x:1 served x_1's rows under x:1's label."""
    steps.run_nightly(settings, run_id="x:1", skip_ingest=True)
    steps.run_nightly(settings.with_overrides(score={"top_n": 3}), run_id="x_1", skip_ingest=True)
    assert len(list(settings.layout.versions.glob("recs-*.duckdb"))) == 2
    rollback(settings, "x:1", settings_now())
    assert run_ids(settings) == {"x:1"} and published(settings, "select max(rank) from recommendations")[0][0] == 5


@pytest.mark.parametrize("step", ["publish:after_parquet_recommendations", "publish:after_parquet_runs",
                                  "publish:before_parquet_swap"])
def test_a_crash_between_parquet_writes_leaves_the_parquet_tree_as_it_was(settings, step):
    """Recommendations from an unpublished run used to sit beside the previous run's popular and similar items."""
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    before = parquet_tree(settings)
    code = ("from jobs.config import load_settings; from jobs.steps import run_nightly; "
            f"s = load_settings(home={str(settings.home)!r}).with_overrides(score={{'top_n': 4}}, "
            "train={'models': ('popularity',)}); run_nightly(s, run_id='night2', skip_ingest=True)")
    crashed = subprocess.run([sys.executable, "-c", code], env={**os.environ, CRASH_ENV: step}, capture_output=True,
                             text=True)
    assert crashed.returncode == 137, crashed.stderr[-2000:]
    assert parquet_tree(settings) == before
    steps.run_nightly(settings, run_id="night2", skip_ingest=True)
    marker = settings.layout.parquet_marker.read_text()
    assert '"run_id": "night2"' in marker
    assert not list(settings.layout.root.glob(".parquet-*"))  # the crashed attempt's tree is gone
    tables = published(settings, "select distinct run_id from read_parquet("
                       f"'{settings.layout.parquet}/*/run_date=*/*.parquet', union_by_name = true)")
    assert tables == [("night2",)]


def test_a_crash_before_the_serving_swap_leaves_no_temporary_file_behind_the_next_publish(settings):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    code = ("from jobs.config import load_settings; from jobs.steps import run_nightly; "
            f"s = load_settings(home={str(settings.home)!r}).with_overrides(train={{'models': ('popularity',)}}); "
            "run_nightly(s, run_id='night2', skip_ingest=True)")
    crashed = subprocess.run([sys.executable, "-c", code], env={**os.environ, CRASH_ENV: "publish:before_swap"},
                             capture_output=True, text=True)
    assert crashed.returncode == 137
    assert list(settings.layout.root.glob(".recs.duckdb.*.tmp"))
    steps.run_nightly(settings, run_id="night3", skip_ingest=True)
    assert not list(settings.layout.root.glob(".recs.duckdb.*.tmp"))


def test_a_rollback_sticks_until_a_run_is_forced(settings):
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    steps.run_nightly(settings, run_id="night2", skip_ingest=True)
    rollback(settings, "night1", settings_now())
    assert current(settings)["pinned"] is True
    summary = steps.run_nightly(settings, run_id="night3", skip_ingest=True)
    assert not summary["made_current"] and "pinned by `recs rollback`" in summary["held"]
    assert run_ids(settings) == {"night1"}  # still the rolled-back version
    assert settings.layout.version("night3").exists()
    steps.run_nightly(settings, run_id="night4", skip_ingest=True, force_publish=True)
    assert run_ids(settings) == {"night4"} and current(settings)["pinned"] is False
