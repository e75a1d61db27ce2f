"""A real ``airflow api-server`` with this project's plugin, over a published outputs tree, for the UI tests.

``published_home`` runs the pipeline in process (``recs sample`` + three nights of ``recs run``) in a temporary
RECS_HOME; ``api_server`` migrates a temporary AIRFLOW_HOME and serves the API and UI on a free port, with the
simple auth manager and one known user (``USER`` / ``PASSWORD``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from jobs.config import load_settings
from jobs.sample.data import write_sample
from jobs.steps import run_nightly
from tests.support import ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")
USER, PASSWORD = "admin", "recs-ui-test-password"
#: The cut-offs of the published nights (each processes the day before).
AS_OF = ("2026-11-19", "2026-11-20", "2026-11-21")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def published_home(home: Path) -> Path:
    """Three published nights on the sample data in ``home`` (the last serves)."""
    write_sample(home / "landing", end_date=date(2026, 11, 20), days=14, n_users=200, n_items=150, n_ratings=8_000)
    settings = load_settings(home=home)
    for i, as_of in enumerate(AS_OF):
        run_nightly(settings, as_of=datetime.fromisoformat(as_of), skip_ingest=i > 0)
    return home


@dataclass
class Server:
    url: str
    env: dict[str, str]
    log: Path

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        """(status, text) of one request; never raises on an HTTP error status."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={**({"Content-Type": "application/json"} if data else {}),
                                              **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def token(self) -> str:
        status, text = self.request("POST", "/auth/token", {"username": USER, "password": PASSWORD})
        assert status in (200, 201), text
        return json.loads(text)["access_token"]


def airflow_env(tmp: Path, recs_home: Path) -> dict[str, str]:
    passwords = tmp / "passwords.json"
    passwords.write_text(json.dumps({USER: PASSWORD}))
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "RECS_HOME": str(recs_home),
        "AIRFLOW_HOME": str(tmp / "airflow_home"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": "recs-ui-test-secret",
        "AIRFLOW__API__WORKERS": "1",
    }


@contextlib.contextmanager
def api_server(tmp: Path, recs_home: Path) -> Iterator[Server]:
    env = airflow_env(tmp, recs_home)
    migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env["AIRFLOW__API__BASE_URL"] = url
    log = tmp / "api-server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(url, env, log)
    try:
        deadline = time.monotonic() + 180
        while True:
            with contextlib.suppress(OSError):
                if server.request("GET", "/api/v2/monitor/health")[0] == 200:
                    break
            assert proc.poll() is None, log.read_text()[-4000:]
            assert time.monotonic() < deadline, "api-server did not come up:\n" + log.read_text()[-4000:]
            time.sleep(1)
        yield server
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
