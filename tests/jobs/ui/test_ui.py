"""The Recommendations view and the HTML report, in process: plots, pages, the user lookup, the report file.

The app is tested here without Airflow's auth (``build_app`` without a dependency); tests/e2e/test_airflow_plugin.py
checks it behind Airflow's login.
"""

from __future__ import annotations

import re
from datetime import datetime

import duckdb
import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from jobs.config import load_settings
from jobs.records import RunContext
from jobs.ui import svg
from jobs.ui.app import build_app
from jobs.ui.data import snapshot_connection
from tests.support.airflow_server import AS_OF, published_home

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return published_home(tmp_path_factory.mktemp("recs_home"))


@pytest.fixture(scope="module")
def client(home):
    return TestClient(build_app(load_settings(home=home)))


def test_line_plot_draws_a_polyline_per_series_and_marks_breaches():
    out = svg.line_plot("psi <b>", ["d1", "d2", "d3"], {"a": [0.1, 0.3, None], "b": [0.2, 0.2, 0.5]},
                        threshold=0.25, marked={"b": [False, False, True]})
    assert out.count("<polyline") == 2 and "threshold 0.25" in out and "(breach)" in out
    assert "psi &lt;b&gt;" in out and "<b>" not in out  # escaped


def test_bar_plot_handles_zeros_and_one_run():
    out = svg.bar_plot("rows", ["d1"], {"ingested": [0], "quarantined": [0]}, stacked=False)
    assert out.startswith("<svg") and out.count("<path") == 2


def test_the_page_shows_every_section_with_plots(client):
    page = client.get("/").text
    for heading in ("Model quality across runs", "Champion decisions", "Rows ingested and quarantined",
                    "Step durations", "Drift and health"):
        assert heading in page
    assert len(re.findall(r"<svg class=\"plot\"", page)) >= 5
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_a_run_page_shows_the_nights_up_to_it(client):
    first = client.get("/runs/cli__2026-11-18").text
    assert "up to run cli__2026-11-18" in first and "cli__2026-11-19</td>" not in first
    assert client.get("/runs/no-such-run").status_code == 404
    assert "not of other_dag" in client.get("/runs/x?dag_id=other_dag").text


def test_the_user_lookup_explains_each_item_from_the_users_history(client, home):
    page = client.get("/users/1").text
    con = duckdb.connect(str(home / "outputs" / "recs.duckdb"), read_only=True)
    titles = [t for (t,) in con.execute("select title from recommendations join items using (item_id) "
                                        "where user_id = '1' order by rank").fetchall()]
    con.close()
    assert titles and all(t.replace("'", "&#x27;") in page for t in titles)
    assert "Most recent ratings" in page and "because_you_rated" in page
    assert "has no published list" in client.get("/?user=nobody").text
    assert client.get("/?user=1&placement=comedy").status_code == 200


def test_the_snapshot_connection_reads_its_three_files_only(home):
    settings = load_settings(home=home)
    files = settings.layout.run("cli__2026-11-20")
    con = snapshot_connection(files)
    assert con.execute(f"select count(*) from read_parquet('{files.snapshot_file('users')}')").fetchone()[0] > 0
    for forbidden in (files.snapshot_file("exclusions"), settings.layout.warehouse, "/etc/passwd"):
        with pytest.raises(duckdb.Error):
            con.execute(f"select * from read_csv('{forbidden}')").fetchall()
    with pytest.raises(duckdb.Error):
        con.execute("set enable_external_access = true")


def test_nothing_published_yet_says_so(tmp_path):
    page = TestClient(build_app(load_settings(home=tmp_path))).get("/")
    assert page.status_code == 200 and "nothing published yet" in page.text


def test_an_auth_dependency_guards_every_route(home):
    def refuse():
        raise HTTPException(401, "no")

    client = TestClient(build_app(load_settings(home=home), auth_dependency=refuse))
    assert {client.get(p).status_code for p in ("/", "/runs/cli__2026-11-19", "/users/1", "/icon.svg")} == {401}


def test_each_run_writes_a_self_contained_html_report(home):
    settings = load_settings(home=home)
    run = RunContext(run_id="cli__2026-11-20", as_of=datetime.fromisoformat(AS_OF[-1]))
    report = settings.layout.report_html(run.key).read_text()
    assert "Holdout metrics" in report and "Champion decision" in report and "<svg" in report
    assert "Model quality across runs" in report and "cli__2026-11-18" in report
    assert not re.search(r"<script|<link|src=|url\(", report)
    assert "http" not in report.replace('xmlns="http://www.w3.org/2000/svg"', "")
