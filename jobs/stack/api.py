"""A small client of Airflow 3's REST API (``/api/v2``), for the stack's checks, its test and its benchmark."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field


class APIError(RuntimeError):
    pass


@dataclass
class AirflowAPI:
    base_url: str
    username: str
    password: str
    _token: str | None = field(default=None, repr=False)

    def _call(self, method: str, path: str, body: dict | None = None, auth: bool = True) -> dict:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token()}"
        request = urllib.request.Request(f"{self.base_url}{path}", method=method, headers=headers,
                                         data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            raise APIError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode(errors='replace')[:500]}") from exc

    def token(self) -> str:
        if self._token is None:
            self._token = self._call("POST", "/auth/token", {"username": self.username, "password": self.password},
                                     auth=False)["access_token"]
        return self._token

    def wait_for_dag(self, dag_id: str, timeout: float = 180.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._call("GET", f"/api/v2/dags/{dag_id}")
            except APIError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)

    def unpause(self, dag_id: str) -> dict:
        return self._call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, logical_date: str, conf: dict | None = None) -> str:
        run = self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": logical_date, "conf": conf or {}})
        return run["dag_run_id"]

    def run(self, dag_id: str, run_id: str) -> dict:
        return self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")

    def wait(self, dag_id: str, run_id: str, timeout: float = 900.0, poll=None) -> dict:
        """Until the run finishes (success or failed); ``poll(task_instances)`` is called on every look."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run(dag_id, run_id)
            if poll is not None:
                poll(self.task_instances(dag_id, run_id))
            if run["state"] in ("success", "failed"):
                return run
            time.sleep(1)
        raise APIError(f"{dag_id} {run_id} still {run['state']} after {timeout:.0f} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000"
        return self._call("GET", path)["task_instances"]

    def tries(self, dag_id: str, run_id: str) -> list[dict]:
        """Every try of every task instance (the history of retried ones included)."""
        current = self.task_instances(dag_id, run_id)
        history = []
        for ti in current:
            if (ti.get("try_number") or 0) > 1:
                path = (f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}/"
                        f"{ti.get('map_index', -1)}/tries")
                history += [t for t in self._call("GET", path)["task_instances"] if t["try_number"] < ti["try_number"]]
        return current + history
