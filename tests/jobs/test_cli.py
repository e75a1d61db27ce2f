"""The `recs` command as an operator uses it: ingest a MovieLens u.data file, run, read recommendations."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.support.warehouse import taste_ratings

pytestmark = pytest.mark.slow
RECS = str(Path(sys.executable).parent / "recs")


def recs(home: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([RECS, *args], env={**os.environ, "RECS_HOME": str(home)}, capture_output=True, text=True)
    return done


def test_ingest_udata_run_and_read_back(tmp_path):
    frame = taste_ratings(n_users=90, n_items=40)
    udata = tmp_path / "incoming" / "u.data"
    udata.parent.mkdir()
    lines = (f"{u[1:]}\t{i[1:]}\t{int(r)}\t{int(t.timestamp())}" for u, i, r, t in frame.itertuples(index=False))
    udata.write_text("\n".join(lines) + "\n")
    home = tmp_path / "home"

    ingested = recs(home, "ingest", str(udata), "--json")
    assert ingested.returncode == 0, ingested.stderr
    assert json.loads(ingested.stdout)["n_rows_loaded"] == len(frame)
    ran = recs(home, "run", "--top-n", "5", "--models", "popularity,ease")
    assert ran.returncode == 0, ran.stderr[-3000:]
    # A person gets a short summary, not JSON: the run, the champion, where it was published, rows per table.
    summary = ran.stdout.splitlines()
    assert summary[0].startswith("run cli__") and not ran.stdout.startswith("{"), ran.stdout
    assert any(line.startswith("champion: ") for line in summary) and any(line.startswith("published: ") for line in summary)
    assert any(line.split() == ["recommendations", "450"] for line in summary), ran.stdout
    assert len(summary) < 20, ran.stdout

    con = duckdb.connect(str(home / "outputs" / "recs.duckdb"), read_only=True)
    per_user = con.execute("select count(distinct user_id), count(*), max(rank) from recommendations").fetchone()
    run = con.execute("select status, users, rows_ingested from runs").fetchall()
    con.close()
    assert per_user == (90, 450, 5)
    assert run == [("published", 90, 0)]  # the file was ingested by `recs ingest`, before the run

    status = recs(home, "status")
    assert status.returncode == 0 and status.stdout.startswith("published: run cli__"), status.stdout + status.stderr
    assert json.loads(recs(home, "status", "--json").stdout)["runs"][0]["status"] == "published"

    shown = recs(home, "recommend", "7")
    assert shown.returncode == 0 and "(5 rows)" in shown.stdout, shown.stdout + shown.stderr
    # Consumers get a read-only connection: writes are refused, the published table is untouched.
    refused = recs(home, "query", "--sql", "delete from recommendations")
    assert refused.returncode != 0 and "read-only" in refused.stderr.lower() and "Traceback" not in refused.stderr
    assert "450" in recs(home, "query", "--sql", "select count(*) from recommendations").stdout


def test_output_to_a_closed_pipe_ends_quietly(tmp_path):
    """`recs status | head -1`: the reader goes away before recs writes; no BrokenPipeError traceback."""
    proc = subprocess.Popen([RECS, "status"], env={**os.environ, "RECS_HOME": str(tmp_path / "home")},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # closed before recs has imported anything, let alone written
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0 and "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    piped = subprocess.run(["bash", "-c", f"set -o pipefail; {RECS} status | head -1"], capture_output=True, text=True,
                           env={**os.environ, "RECS_HOME": str(tmp_path / "home")})
    assert piped.returncode == 0 and piped.stdout.startswith("nothing published yet") and not piped.stderr, piped


def test_ingest_prints_a_summary_and_json_on_request(tmp_path):
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("user_id,item_id,rating,timestamp\n1,2,3,881250949\n1,3,x,881250949\n")
    done = recs(tmp_path / "home", "ingest", str(ratings))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "ingested 1 new file(s) (0 already ingested): 2 rows read, 1 loaded, 1 quarantined"
    again = json.loads(recs(tmp_path / "home", "ingest", str(ratings), "--json").stdout)
    assert (again["n_files_new"], again["n_files_skipped"]) == (0, 1)


def test_bad_file_gives_a_clear_error_without_a_traceback(tmp_path):
    bad = tmp_path / "ratings.csv"
    bad.write_text("user_id;item_id;rating;timestamp\n1;2;3;881250949\n")
    done = recs(tmp_path / "home", "ingest", str(bad))
    assert done.returncode != 0
    assert "ratings.csv" in done.stderr and "line 1" in done.stderr and "Traceback" not in done.stderr


def test_placements_from_the_command_line(tmp_path):
    home = tmp_path / "home"
    sampled = recs(home, "sample", "--users", "150", "--items", "120", "--ratings", "6000", "--days", "10")
    assert sampled.returncode == 0, sampled.stderr
    rule = tmp_path / "never.csv"
    rule.write_text("user_id,item_id,until\n,1,\n")
    assert recs(home, "ingest", "--kind", "exclusions", str(rule)).returncode == 0
    ran = recs(home, "run", "--top-n", "5", "--models", "ease", "--placements", "comedy", "--diversity", "0.2")
    assert ran.returncode == 0, ran.stderr[-3000:]

    shown = recs(home, "recommend", "3", "--placement", "comedy")
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()[2:-1]]
    genres = shown.stdout.splitlines()[0].split().index("genres") - len(shown.stdout.splitlines()[0].split())
    assert 0 < len(rows) <= 10 and all("Comedy" in line[genres] for line in rows), shown.stdout
    unknown = recs(home, "recommend", "3", "--placement", "drama")
    assert unknown.returncode != 0 and "no placement 'drama'" in unknown.stderr and "comedy" in unknown.stderr
    counted = recs(home, "query", "--sql", "select count(*) filter (where item_id = '1'), count(distinct user_id) "
                   "from placement_recommendations")
    assert counted.stdout.split()[-4:-2] == ["0", "150"], counted.stdout
