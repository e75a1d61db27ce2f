"""The Recommendations plugin in a real Airflow: it loads, and its routes answer only Airflow's logged-in users.

``airflow plugins`` must list it; then an ``airflow api-server`` (simple auth manager, a temporary AIRFLOW_HOME)
over three published nights: anonymous requests and bad tokens are refused, a token from ``POST /auth/token``
(the API's way) or the ``_token`` cookie (the UI's way) is let in, on the page and on the mounted read API.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.airflow_server import AIRFLOW, airflow_env, api_server, published_home

pytestmark = [pytest.mark.slow, pytest.mark.airflow]

PAGES = ["/recs/", "/recs/runs/cli__2026-11-19", "/recs/users/1", "/recs/?user=1&placement=comedy",
         "/recs/icon.svg", "/recs/api/health", "/recs/api/recommendations/1?top=3"]


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return published_home(tmp_path_factory.mktemp("recs_home"))


@pytest.fixture(scope="module")
def server(tmp_path_factory, home):
    with api_server(tmp_path_factory.mktemp("airflow"), home) as running:
        yield running


def test_airflow_plugins_lists_the_recs_plugin(tmp_path, home):
    env = airflow_env(tmp_path, home)
    done = subprocess.run([AIRFLOW, "plugins", "--output", "json"], env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    plugins = {p["name"]: p for p in json.loads(done.stdout[done.stdout.index("["):])}
    assert "recs" in plugins, done.stdout[-3000:]
    assert "Recommendations" in str(plugins["recs"]["fastapi_apps"])
    assert "dag_run" in str(plugins["recs"]["external_views"])


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_requests_are_refused(server, path):
    status, _ = server.request("GET", path)
    assert status == 401


def test_a_forged_token_is_refused(server):
    status, _ = server.request("GET", "/recs/", headers={"Authorization": "Bearer not.a.jwt"})
    assert status in (401, 403)
    status, _ = server.request("GET", "/recs/", headers={"Cookie": "_token=not.a.jwt"})
    assert status in (401, 403)


def test_a_token_from_auth_token_opens_every_page(server):
    token = server.token()
    for path in PAGES:
        status, text = server.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        assert status == 200, (path, text[:500])
    status, text = server.request("GET", "/recs/", headers={"Authorization": f"Bearer {token}"})
    assert "<svg" in text and "<polyline" in text and "Champion decisions" in text
    status, text = server.request("GET", "/recs/api/recommendations/1?top=3",
                                  headers={"Authorization": f"Bearer {token}"})
    assert len(json.loads(text)["items"]) == 3


def test_the_ui_cookie_opens_the_page(server):
    status, text = server.request("GET", "/recs/users/1", headers={"Cookie": f"_token={server.token()}"})
    assert status == 200 and "Most recent ratings" in text


def test_the_ui_lists_the_views(server):
    status, text = server.request("GET", "/api/v2/plugins", headers={"Authorization": f"Bearer {server.token()}"})
    assert status == 200, text[:500]
    views = [v for p in json.loads(text)["plugins"] if p["name"] == "recs" for v in p["external_views"]]
    assert {v["destination"] for v in views} == {"nav", "dag_run"}
    assert all(v["href"].startswith("recs/") for v in views)
