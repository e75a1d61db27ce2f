"""``recs serve``: the HTTP read API on real published versions: its answers, its auth, its refusals, and a
publish while it serves (no error, no answer mixing two versions)."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobs import steps
from jobs.api.auth import bearer_auth
from jobs.api.reader import PublishedReader
from jobs.api.routes import build_app
from jobs.config import Placement, load_settings
from jobs.records import run_key
from jobs.serving import open_published
from tests.support.warehouse import published, seed_ratings, taste_ratings

pytestmark = pytest.mark.slow
RECS = str(Path(sys.executable).parent / "recs")
TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _settings(home: Path):
    s = load_settings(home=home).with_overrides(score={"top_n": 5, "popular_items": 10},
                                                train={"models": ("popularity", "ease")},
                                                publish={"keep_versions": 10})
    return replace(s, placements=(Placement(), Placement(name="short", top_n=3)))


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One published version (run r1) of 40 users x 20 items: default and `short` placements, similar items."""
    s = _settings(tmp_path_factory.mktemp("serve"))
    seed_ratings(s, taste_ratings(n_users=40, n_items=20))
    steps.run_nightly(s, run_id="r1", skip_ingest=True)
    return s


@pytest.fixture
def client(home):
    with TestClient(build_app(home, bearer_auth(TOKEN))) as c:
        yield c


def items(answer) -> list[str]:
    return [item["item_id"] for item in answer["items"]]


def test_requests_need_the_bearer_token(client):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
        answer = client.get("/health", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
        assert "bearer token" in answer.json()["detail"]
    assert client.get("/recommendations/u1").status_code == 401
    assert client.get("/health", headers=AUTH).status_code == 200


def test_recommendations_are_the_published_list(home, client):
    answer = client.get("/recommendations/u1?top=3", headers=AUTH)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"run_id", "fallback", "items"} and body["run_id"] == "r1" and body["fallback"] is False
    rows = published(home, "select item_id, rank, score, promoted from recommendations where user_id = 'u1' "
                           "order by rank limit 3")
    assert [(i["item_id"], i["rank"], i["promoted"]) for i in body["items"]] == [(r[0], r[1], r[3]) for r in rows]
    assert [i["score"] for i in body["items"]] == pytest.approx([r[2] for r in rows])
    assert all(set(i) == {"item_id", "rank", "score", "promoted"} for i in body["items"])
    assert len(client.get("/recommendations/u1?top=100", headers=AUTH).json()["items"]) == 5  # the whole list
    assert len(client.get("/recommendations/u1", headers=AUTH).json()["items"]) == 5  # default top 10


def test_an_unknown_user_gets_the_popular_items_as_a_fallback(home, client):
    body = client.get("/recommendations/nobody?top=4", headers=AUTH).json()
    assert body["fallback"] is True and body["run_id"] == "r1"
    assert items(body) == [r[0] for r in published(home, "select item_id from popular_items order by rank limit 4")]
    assert [i["rank"] for i in body["items"]] == [1, 2, 3, 4] and all(i["promoted"] is False for i in body["items"])


def test_a_named_placement_and_an_unknown_one(home, client):
    body = client.get("/recommendations/u2?placement=short&top=10", headers=AUTH).json()
    assert body["run_id"] == "r1" and body["fallback"] is False
    assert items(body) == [r[0] for r in published(home, "select item_id from placement_recommendations "
                                                         "where placement = 'short' and user_id = 'u2' order by rank")]
    assert len(body["items"]) == 3
    fallback = client.get("/recommendations/nobody?placement=short", headers=AUTH).json()
    assert fallback["fallback"] is True and fallback["items"]
    answer = client.get("/recommendations/u2?placement=nope", headers=AUTH)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no placement 'nope' in the published version (run r1); it has: default, short",
                             "run_id": "r1"}


def test_similar_items_popular_and_health(home, client):
    item = published(home, "select item_id from similar_items where method = 'ease' limit 1")[0][0]
    body = client.get(f"/similar/{item}?top=3", headers=AUTH).json()
    assert body["run_id"] == "r1" and body["fallback"] is False and len(body["items"]) == 3
    assert {i["method"] for i in body["items"]} == {"ease"}  # the champion's, by default
    assert items(body) == [r[0] for r in published(home, "select similar_item_id from similar_items where item_id = ? "
                                                         "and method = 'ease' order by rank limit 3", [item])]
    methods = {r[0] for r in published(home, "select distinct method from similar_items")}
    for method in methods:
        by_method = client.get(f"/similar/{item}?method={method}", headers=AUTH).json()
        assert {i["method"] for i in by_method["items"]} == {method}
    assert client.get(f"/similar/{item}?method=nope", headers=AUTH).status_code == 404
    missing = client.get("/similar/no-such-item", headers=AUTH)
    assert missing.status_code == 404 and "no-such-item" in missing.json()["detail"]
    popular = client.get("/popular?top=2", headers=AUTH).json()
    assert set(popular) == {"run_id", "fallback", "items"} and popular["run_id"] == "r1"
    assert [set(i) for i in popular["items"]] == [{"item_id", "rank", "score"}] * 2
    health = client.get("/health", headers=AUTH).json()
    current = json.loads(home.layout.current_pointer.read_text())
    assert health["run_id"] == "r1" and health["published_at"] == current["published_at"]
    assert health["run_date"] == current["run_date"]
    assert health["tables"]["recommendations"] == published(home, "select count(*) from recommendations")[0][0]
    assert health["tables"]["popular_items"] == 10


@pytest.mark.parametrize("url", ["/recommendations/u1?top=0", "/recommendations/u1?top=101", "/popular?top=-1",
                                 "/similar/i1?top=abc", "/recommendations/u1?top=1.5", "/popular?top=99999999999999999999",
                                 "/recommendations/%00?placement=%ff", "/recommendations/u1?placement=",
                                 "/similar/%2e%2e%2fetc?method=%27", "/recommendations/" + "x" * 5000])
def test_bad_input_is_a_4xx_with_a_reason_never_a_500(client, url):
    answer = client.get(url, headers=AUTH)
    assert answer.status_code in (200, 404, 422), (url, answer.status_code, answer.text)
    if answer.status_code != 200:
        assert answer.json()["detail"]
    if "top=" in url and answer.status_code == 422:
        assert "top" in json.dumps(answer.json()["detail"])


def test_max_top_is_configurable(home):
    settings = home.with_overrides(serve={"max_top": 3})
    with TestClient(build_app(settings)) as client:  # no auth_dependency: open
        assert client.get("/popular?top=3").status_code == 200
        assert client.get("/popular?top=4").status_code == 422


def test_nothing_published_is_a_503_until_a_version_appears(tmp_path):
    settings = _settings(tmp_path)
    with TestClient(build_app(settings, bearer_auth(TOKEN))) as client:
        for url in ("/health", "/recommendations/u1", "/popular", "/similar/i1"):
            answer = client.get(url, headers=AUTH)
            assert answer.status_code == 503 and "nothing published" in answer.json()["detail"], url
        seed_ratings(settings, taste_ratings(n_users=12, n_items=8))
        steps.run_nightly(settings, run_id="first", skip_ingest=True)
        assert client.get("/health", headers=AUTH).json()["run_id"] == "first"


def _expected_lists(settings, run_ids) -> dict[str, dict[str, list[str]]]:
    """Each run's full default list per user, from its kept version."""
    lists = {}
    for run_id in run_ids:
        con = open_published(settings.layout.version(run_key(run_id)))
        try:
            rows = con.execute("select user_id, list(item_id order by rank) from recommendations group by 1").fetchall()
        finally:
            con.close()
        lists[run_id] = {user: list(ranked) for user, ranked in rows}
    return lists


def test_publishing_while_serving_never_errors_nor_mixes_versions(tmp_path):
    settings = _settings(tmp_path)
    seed_ratings(settings, taste_ratings(n_users=40, n_items=20))
    steps.run_nightly(settings, run_id="p0", skip_ingest=True)
    runs = ["p0", "p1", "p2", "p3"]
    reader = PublishedReader.for_settings(settings)
    answers, failures, done = [], [], threading.Event()

    def publish_more():
        try:
            for n, run_id in enumerate(runs[1:], start=1):
                # a different diversity each run, so versions differ
                steps.run_nightly(settings.with_params({"diversity": n / 4}), run_id=run_id, skip_ingest=True,
                                  force_publish=True)
                time.sleep(0.3)
        finally:
            done.set()

    def hammer(client):
        n = 0
        while not done.is_set() or n < 50:
            user = f"u{n % 40}"
            for url in (f"/recommendations/{user}?top=5", "/health"):
                try:
                    answer = client.get(url, headers=AUTH)
                    answers.append((url, user, answer.status_code, answer.json()))
                except Exception as exc:  # noqa: BLE001 - every failure is a finding
                    failures.append(repr(exc))
            n += 1

    with TestClient(build_app(settings, bearer_auth(TOKEN), reader=reader)) as client:
        threads = [threading.Thread(target=publish_more), threading.Thread(target=hammer, args=(client,))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        reader.refresh()
        final = client.get("/health", headers=AUTH).json()["run_id"]
    assert not failures
    assert final == "p3"
    expected = _expected_lists(settings, runs)
    versions = {tuple((user, tuple(ranked)) for user, ranked in sorted(lists.items())) for lists in expected.values()}
    assert len(versions) >= 2, "the versions do not differ"
    seen = set()
    for url, user, status, body in answers:
        assert status == 200, (url, status, body)
        assert body["run_id"] in runs, body
        seen.add(body["run_id"])
        if url.startswith("/recommendations"):
            assert body["fallback"] is False and items(body) == expected[body["run_id"]][user][:5], (url, body)
    assert len(seen) >= 2, f"the server never switched versions while serving: {seen}"


def test_a_version_that_cannot_be_read_leaves_the_old_one_serving(tmp_path):
    settings = _settings(tmp_path)
    seed_ratings(settings, taste_ratings(n_users=12, n_items=8))
    steps.run_nightly(settings, run_id="good", skip_ingest=True)
    serving = settings.layout.serving
    kept = tmp_path / "kept.duckdb"
    os.link(serving, kept)
    with TestClient(build_app(settings, bearer_auth(TOKEN))) as client:
        assert client.get("/health", headers=AUTH).json()["run_id"] == "good"
        broken = tmp_path / "broken.duckdb"
        broken.write_bytes(b"not a database" * 1000)
        broken.replace(serving)  # a file that does not open, put in place as a publish would
        for _ in range(3):
            answer = client.get("/recommendations/u1", headers=AUTH)
            assert answer.status_code == 200 and answer.json()["run_id"] == "good"
        app_reader = client.app.state.reader
        assert app_reader.refresh().run_id == "good" and "could not be read" in app_reader.last_error
        serving.unlink()  # gone for a moment: still the old version
        assert client.get("/health", headers=AUTH).json()["run_id"] == "good"
        kept.replace(serving)
        app_reader.retry_seconds = 0
        assert app_reader.refresh().run_id == "good" and app_reader.last_error is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_recs_serve_refuses_to_start_without_a_token_and_serves_localhost_with_the_flag(home):
    env = {k: v for k, v in os.environ.items() if k != "RECS_API_TOKEN"} | {"RECS_HOME": str(home.home)}
    refused = subprocess.run([RECS, "serve", "--port", str(_free_port())], env=env, capture_output=True, text=True,
                             timeout=60)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "no API token: set RECS_API_TOKEN" in refused.stderr
    public = subprocess.run([RECS, "serve", "--no-auth-localhost", "--host", "0.0.0.0"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert public.returncode != 0 and "Traceback" not in public.stderr and "loopback" in public.stderr
    port = _free_port()
    server = subprocess.Popen([RECS, "serve", "--no-auth-localhost", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, health = time.monotonic() + 60, None
        while health is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    health = json.loads(answer.read())
            except OSError:
                time.sleep(0.2)
        assert health is not None and health["run_id"] == "r1", server.poll()
    finally:
        server.terminate()
        server.wait(timeout=30)
