"""Read-only means read-only: `recs query` (and every consumer read path) reaches the published database and
nothing else. Each statement below used to succeed: it destroyed the warehouse or a rollback target, wrote a
copy of the data, or printed a file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs import steps
from jobs.config import load_settings
from jobs.serving import open_published
from tests.support.warehouse import seed_ratings, taste_ratings

pytestmark = pytest.mark.slow
RECS = str(Path(sys.executable).parent / "recs")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = tmp_path_factory.mktemp("home")
    settings = load_settings(home=home).with_overrides(score={"top_n": 3}, train={"models": ("popularity",)})
    seed_ratings(settings, taste_ratings(n_users=30, n_items=20))
    steps.run_nightly(settings, run_id="night1", skip_ingest=True)
    return home


def query(home: Path, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run([RECS, "query", "--sql", sql], env={**os.environ, "RECS_HOME": str(home)},
                          capture_output=True, text=True)


def test_the_published_tables_answer(home):
    done = query(home, "select count(distinct user_id) as users from recommendations")
    assert done.returncode == 0 and "30" in done.stdout


@pytest.mark.parametrize("sql", [
    "copy (select 'x') to '{home}/outputs/warehouse.duckdb' (format csv)",
    "copy (select 'x') to '{home}/outputs/versions/recs-night1.duckdb' (format csv)",
    "export database '{tmp}/exported'",
    "select * from read_csv('/etc/passwd')",
    "select * from read_text('/etc/hostname')",
    "attach '{home}/outputs/warehouse.duckdb' as w",
    "install httpfs",
    "load httpfs",
    "set enable_external_access = true",
    "create table t as select 1",
])
def test_nothing_else_on_disk_is_reachable(home, tmp_path, sql):
    warehouse = (home / "outputs" / "warehouse.duckdb").read_bytes()
    version = (home / "outputs" / "versions" / "recs-night1.duckdb").read_bytes()
    done = query(home, sql.format(home=home, tmp=tmp_path))
    assert done.returncode != 0 and "query failed" in done.stderr, done.stdout
    assert (home / "outputs" / "warehouse.duckdb").read_bytes() == warehouse
    assert (home / "outputs" / "versions" / "recs-night1.duckdb").read_bytes() == version
    assert not (tmp_path / "exported").exists() and "root:" not in done.stdout


def test_the_python_read_path_is_locked_the_same_way(home):
    con = open_published(home / "outputs" / "recs.duckdb")
    with pytest.raises(Exception, match="disabled|locked"):
        con.execute("select * from read_csv('/etc/passwd')")
    with pytest.raises(Exception, match="locked"):
        con.execute("set enable_external_access = true")
    assert con.execute("select count(*) from popular_items").fetchone()[0] > 0
