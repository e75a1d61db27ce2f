"""One run at a time on a home: ``outputs/.run.lock`` names the run that holds it.

Two runs on one home would do the work twice and trip over each other's files, and a second one would leave
the runs table claiming a run is ``running`` after it published. So the first step of a run claims the home
(``recs run`` before it ingests; in Airflow ``ingest_files``, then ``freeze_snapshot``), every later step
checks that its run still holds it (and refreshes the holder's heartbeat), and the last step, or the failure
path, releases it. A second run fails at once with ``RunLocked``, naming the holder, and changes nothing.

A holder is stale, and its claim is taken over, when its process is gone (``recs run``: same host, pid no
longer alive) or, for an Airflow run whose tasks live in many processes, when no step of it has run for
``[airflow] run_timeout_hours`` (the DAG run times out then anyway). Tasks of the same run share the claim.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from jobs.clock import utcnow
from jobs.config import Settings
from jobs.files import pid_alive, write_json


class RunLocked(RuntimeError):
    """Another run holds this home."""


@dataclass(frozen=True)
class Holder:
    run_id: str
    orchestrator: str  # "cli" (one process) or "airflow" (a task per process)
    pid: int
    host: str
    started_at: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, run id {self.run_id}, started at {self.started_at}"


def _read(path: Path) -> Holder | None:
    try:
        return Holder(**json.loads(path.read_text()))
    except (FileNotFoundError, json.JSONDecodeError, TypeError):
        return None


def _stale(settings: Settings, path: Path, holder: Holder) -> bool:
    if holder.orchestrator == "cli":
        return holder.host == socket.gethostname() and not pid_alive(holder.pid)
    idle = time.time() - path.stat().st_mtime
    return idle > settings.airflow.run_timeout_hours * 3600


def _mine(holder: Holder, run_id: str | None) -> bool:
    """The same run, or the same ``recs run`` process (its claim is made before the data name the run)."""
    same_process = holder.orchestrator == "cli" and holder.pid == os.getpid() and holder.host == socket.gethostname()
    return holder.run_id == run_id or same_process


@contextmanager
def _guarded(settings: Settings) -> Iterator[Path]:
    """The lock file, with a short exclusive flock around each read-modify-write of it."""
    path = settings.layout.run_lock
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(path.name + ".guard").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        try:
            yield path
        finally:
            fcntl.flock(guard, fcntl.LOCK_UN)


def claim(settings: Settings, run_id: str, orchestrator: str) -> Holder | None:
    """Hold the home for ``run_id`` (again, for its retries and later tasks); the stale holder it replaced, if any.

    Raises ``RunLocked`` when another live run holds it."""
    with _guarded(settings) as path:
        holder = _read(path)
        replaced = None
        if holder is not None and not _mine(holder, run_id):
            if not _stale(settings, path, holder):
                raise RunLocked(f"another run ({holder.describe()}) holds {settings.home}; wait for it to finish, "
                                f"or, if it is no longer running anywhere, delete {path}")
            replaced = holder
        started = holder.started_at if holder is not None and replaced is None else utcnow().isoformat()
        write_json(path, asdict(Holder(run_id, orchestrator, os.getpid(), socket.gethostname(), started)))
        return replaced


def check(settings: Settings, run_id: str) -> None:
    """Fail at once unless ``run_id`` holds the home (or nobody does); refresh the holder's heartbeat."""
    with _guarded(settings) as path:
        holder = _read(path)
        if holder is None:
            return
        if not _mine(holder, run_id) and not _stale(settings, path, holder):
            raise RunLocked(f"run {run_id} no longer holds {settings.home}: another run ({holder.describe()}) does")
        os.utime(path)


def release(settings: Settings, run_id: str | None) -> None:
    """Let go of the home if ``run_id`` holds it, or (``None``) if this process does; never another run's claim."""
    with _guarded(settings) as path:
        holder = _read(path)
        if holder is not None and _mine(holder, run_id):
            path.unlink(missing_ok=True)
