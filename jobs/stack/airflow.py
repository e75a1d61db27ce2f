"""The native Celery stack's processes: PostgreSQL, Redis and Airflow's services, started and stopped together.

Every Airflow process gets the same environment (``airflow.env`` plus this machine's addresses and secrets); the two
workers add their own temporary folder, log-server port and hostname. What ``up`` started is recorded in
``<state>/stack.json`` so that ``down`` (another process, later) stops exactly that.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jobs.config import PROJECT_ROOT
from jobs.stack.envfile import read_env_file
from jobs.stack.services import Postgres, Redis, StackError, ensure_packages, free_port, wait_for_port

#: ``python -m jobs.stack`` and ``make airflow-celery`` keep their state here (git-ignored).
DEFAULT_STATE = PROJECT_ROOT / "airflow_celery"
#: The training tasks' queue on this stack: only the second worker listens on it.
TRAIN_QUEUE = "train"
ADMIN_USER = "airflow"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Worker:
    name: str
    queues: tuple[str, ...]

    def hostname(self) -> str:
        """The Celery node name, also what the worker's task instances record as their hostname."""
        return f"worker-{self.name}@{socket.gethostname()}"


def workers(train_queue: str = TRAIN_QUEUE) -> tuple[Worker, ...]:
    return Worker("default", ("default",)), Worker("train", ("default", train_queue))


@dataclass
class StackConfig:
    """What one stack is: where its state and the pipeline's home are, its ports and its executor."""

    state: Path = DEFAULT_STATE
    home: Path = PROJECT_ROOT
    api_port: int = 8080
    executor: str = "celery"  # "celery", or "local" (LocalExecutor on the same Postgres: the benchmark's baseline)
    concurrency: int = 2  # per worker: two workers share this machine's 2 cores
    train_queue: str = TRAIN_QUEUE
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def record(self) -> Path:
        return self.state / "stack.json"

    def save(self) -> None:
        data = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}
        self.record.write_text(json.dumps(data, indent=2) + "\n")

    @classmethod
    def load(cls, state: Path = DEFAULT_STATE) -> StackConfig:
        data = json.loads((state / "stack.json").read_text())
        return cls(**{**data, "state": Path(data["state"]), "home": Path(data["home"])})

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def airflow_home(self) -> Path:
        return self.state / "airflow_home"

    @property
    def password_file(self) -> Path:
        return self.airflow_home / "simple_auth_manager_passwords.json.generated"

    def password(self) -> str:
        return json.loads(self.password_file.read_text())[ADMIN_USER]

    def postgres(self) -> Postgres:
        return Postgres(self.state / "postgres", self.ports["postgres"])

    def redis(self) -> Redis:
        return Redis(self.state / "redis", self.ports["redis"])

    def workers(self) -> tuple[Worker, ...]:
        return workers(self.train_queue) if self.executor == "celery" else ()


def _secrets(state: Path) -> dict[str, str]:
    path = state / "secrets.json"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(json.dumps({"AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
                                    "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32)}))
        path.chmod(0o600)
    return json.loads(path.read_text())


def environment(config: StackConfig) -> dict[str, str]:
    """The environment of every Airflow process: airflow.env, then what differs from the Compose file."""
    pg = config.postgres()
    env = {**os.environ, **read_env_file()}
    env.update(_secrets(config.state))
    env.update({
        "AIRFLOW_HOME": str(config.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),  # the Recommendations view
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": pg.url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{config.base_url}/execution/",
        "AIRFLOW__API__BASE_URL": config.base_url,
        "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(config.ports["scheduler_health"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(config.ports["triggerer_logs"]),
        "RECS_HOME": str(config.home),
        "RECS_TRAIN_QUEUE": config.train_queue,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    })
    if config.executor == "celery":
        env["AIRFLOW__CELERY__BROKER_URL"] = config.redis().url
        env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + pg.url
    else:
        env["AIRFLOW__CORE__EXECUTOR"] = "LocalExecutor"
    env.update(config.extra_env)
    return env


def _worker_environment(config: StackConfig, worker: Worker) -> dict[str, str]:
    tmp = config.state / "tmp" / worker.name
    tmp.mkdir(parents=True, exist_ok=True)
    return {**environment(config), "TMPDIR": str(tmp),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(config.ports[f"worker_{worker.name}_logs"]),
            "AIRFLOW__CORE__HOSTNAME_CALLABLE": "jobs.stack.hostname.worker_hostname",
            "RECS_WORKER_HOSTNAME": worker.hostname()}


def _spawn(config: StackConfig, name: str, args: list[str], env: dict[str, str]) -> None:
    logs = config.state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with open(logs / f"{name}.log", "ab") as out:
        # Its own session: down (or a test killing a worker) signals the whole process group.
        process = subprocess.Popen([str(BIN / "airflow"), *args], env=env, stdout=out, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, cwd=config.home)
    config.pids[name] = process.pid
    config.save()


def _wait_healthy(config: StackConfig, timeout: float = 240.0) -> None:
    """Until the API server answers and reports the scheduler, DAG processor and triggerer healthy."""
    import urllib.request

    wanted = ("metadatabase", "scheduler", "dag_processor", "triggerer")
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        _check_alive(config)
        try:
            with urllib.request.urlopen(f"{config.base_url}/api/v2/monitor/health", timeout=5) as response:
                last = json.load(response)
            if all((last.get(part) or {}).get("status") == "healthy" for part in wanted):
                break
        except OSError:
            pass
        time.sleep(1)
    else:
        raise StackError(f"Airflow is not healthy after {timeout:.0f} s: {last} (logs: {config.state / 'logs'})")
    for worker in config.workers():
        _wait_for_log(config, f"worker-{worker.name}", "ready.", deadline)


def _wait_for_log(config: StackConfig, name: str, text: str, deadline: float) -> None:
    log = config.state / "logs" / f"{name}.log"
    while text not in log.read_text(errors="replace"):
        _check_alive(config)
        if time.monotonic() > deadline:
            raise StackError(f"{name} did not log {text!r} (see {log})")
        time.sleep(0.5)


def _check_alive(config: StackConfig) -> None:
    for name, pid in config.pids.items():
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (another process started it): ask the kernel
            finished = 0 if _exists(pid) else pid
        if finished:
            raise StackError(f"{name} exited at start-up: see {config.state / 'logs' / (name + '.log')}")


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def up(config: StackConfig) -> StackConfig:
    """Start the whole stack; returns once every service is healthy and every worker ready."""
    ensure_packages()
    config.state.mkdir(parents=True, exist_ok=True)
    if config.record.exists():
        previous = StackConfig.load(config.state)
        if any(_exists(pid) for pid in previous.pids.values()):
            raise StackError(f"a stack is already running from {config.state}: stop it first "
                             "(python -m jobs.stack down)")
        down(previous)  # what a crashed `up` may have left: its PostgreSQL and Redis
    for name in ("postgres", "redis", "scheduler_health", "triggerer_logs", "worker_default_logs", "worker_train_logs"):
        config.ports.setdefault(name, free_port())
    config.pids = {}
    config.save()
    try:
        _start(config)
    except BaseException:
        down(config)
        raise
    return config


def _start(config: StackConfig) -> None:
    config.postgres().start()
    if config.executor == "celery":
        config.redis().start()
    env = environment(config)
    migrate = subprocess.run([str(BIN / "airflow"), "db", "migrate"], env=env, capture_output=True, text=True)
    if migrate.returncode != 0:
        raise StackError(f"airflow db migrate failed: {migrate.stderr.strip()[-1500:]}")
    _spawn(config, "api-server", ["api-server", "--host", "127.0.0.1", "--port", str(config.api_port),
                                  "--workers", "1"], env)
    wait_for_port(config.api_port, "the Airflow API server", timeout=120)
    for name in ("scheduler", "dag-processor", "triggerer"):
        _spawn(config, name, [name], env)
    for worker in config.workers():
        _spawn(config, f"worker-{worker.name}",
               ["celery", "worker", "--queues", ",".join(worker.queues), "--concurrency", str(config.concurrency),
                "--celery-hostname", worker.hostname()],
               _worker_environment(config, worker))
    _wait_healthy(config)


def kill_worker(config: StackConfig, name: str) -> None:
    """SIGKILL a worker and everything it started (its task processes too), as a lost machine would."""
    os.killpg(config.pids[f"worker-{name}"], signal.SIGKILL)


def down(config: StackConfig, timeout: float = 30.0) -> None:
    """Stop the Airflow processes (SIGTERM, then SIGKILL after ``timeout``), then Redis and PostgreSQL."""
    for pid in reversed(list(config.pids.values())):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + timeout
    for pid in config.pids.values():
        while _exists(pid) and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.2)
        if _exists(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            _reap(pid)
    if "redis" in config.ports:
        config.redis().stop()
    if "postgres" in config.ports:
        config.postgres().stop()
    config.pids = {}
    config.save()


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
