"""docker-compose.yml and the Dockerfile, checked by structure (no Docker engine needed)."""

from __future__ import annotations

import re
import tomllib
from urllib.parse import urlsplit

import pytest

from jobs.stack.airflow import StackConfig, environment
from jobs.stack.envfile import read_env_file
from tests.support import ROOT

yaml = pytest.importorskip("yaml")


REQUIRED = {
    "postgres",
    "redis",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-worker",
    "airflow-triggerer",
    "airflow-init",
}
# The long-running Airflow services that must wait for airflow-init and report their health.
RUNNING = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker", "airflow-triggerer"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def airflow_services(services) -> dict:
    return {name: spec for name, spec in services.items() if name.startswith("airflow-")}


def _pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {}
    for requirement in project["dependencies"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^,;\s]+)", requirement.strip())
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_required_services_present(services):
    assert REQUIRED <= set(services)


def test_airflow_services_share_the_built_image_and_environment(compose, airflow_services):
    common = compose["x-airflow-common"]
    assert common["build"]["context"] == "." and common["build"]["dockerfile"] == "Dockerfile"
    assert (ROOT / common["build"]["dockerfile"]).is_file()
    for name, spec in airflow_services.items():
        assert spec["image"] == common["image"], name
        assert spec["build"] == common["build"], name
        assert spec["env_file"] == ["airflow.env"], name
        # Services may add variables (the worker, init) but never drop or change the common ones.
        assert spec["environment"].items() >= common["environment"].items(), name


def test_celery_executor_with_postgres_and_redis(compose, services):
    env = {**read_env_file(ROOT / compose["x-airflow-common"]["env_file"][0]), **compose["x-airflow-common"]["environment"]}
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert str(env["AIRFLOW__CORE__LOAD_EXAMPLES"]).lower() == "false"
    assert str(env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"]).lower() == "true"  # the scheduler's healthcheck
    pg = services["postgres"]["environment"]
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        url = urlsplit(env[key])
        assert url.scheme.endswith("postgresql") or "postgresql" in url.scheme, key
        assert url.hostname == "postgres" and url.hostname in services
        assert (url.username, url.password, url.path.lstrip("/")) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"])
    broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
    assert broker.scheme == "redis" and broker.hostname == "redis" and broker.port == 6379
    api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert api.hostname == "airflow-apiserver" and api.path == "/execution/"
    assert f"{api.port}:{api.port}" in services["airflow-apiserver"]["ports"]
    assert env["RECS_HOME"] == "/opt/recs"


def test_volumes_mount_dags_outputs_and_landing(compose, airflow_services):
    env = compose["x-airflow-common"]["environment"]
    mounts = {}
    for volume in compose["x-airflow-common"]["volumes"]:
        source, target = volume.rsplit(":", 1)  # the source may hold ${VAR:-default}
        mounts[target] = source
    assert mounts["/opt/airflow/dags"].endswith("/dags")
    assert mounts[f"{env['RECS_HOME']}/outputs"].endswith("/outputs")
    assert mounts[f"{env['RECS_HOME']}/landing"].endswith("/landing")
    for name, spec in airflow_services.items():
        assert spec["volumes"] == compose["x-airflow-common"]["volumes"], name


def test_startup_order_and_healthchecks(services):
    for name in RUNNING:
        depends = services[name]["depends_on"]
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert services[name]["healthcheck"]["test"], name
        assert services[name]["restart"] == "always", name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    for name in ("postgres", "redis"):
        assert services[name]["healthcheck"]["test"], name
    init_env = services["airflow-init"]["environment"]
    assert str(init_env["_AIRFLOW_DB_MIGRATE"]).lower() == "true"


def test_commands_and_queues(services):
    commands = {name: services[name]["command"] for name in RUNNING}
    assert commands["airflow-apiserver"] == "api-server"
    assert commands["airflow-scheduler"] == "scheduler"
    assert commands["airflow-dag-processor"] == "dag-processor"
    assert commands["airflow-triggerer"] == "triggerer"
    assert commands["airflow-worker"].split()[:2] == ["celery", "worker"]
    assert "default" in commands["airflow-worker"].split("--queues")[1].split()[0].split(",")
    gpu = services.get("airflow-worker-gpu")
    if gpu is not None:  # optional GPU worker: opt-in profile, gpu queue
        assert gpu["profiles"] == ["gpu"] and "gpu" in gpu["command"].split("--queues")[1].split()[0].split(",")


def test_host_ports_unique(services):
    host_ports = [str(port).split(":")[-2] for spec in services.values() for port in spec.get("ports", []) if ":" in str(port)]
    assert host_ports and len(host_ports) == len(set(host_ports))


def test_dockerfile_matches_pinned_versions():
    text = (ROOT / "Dockerfile").read_text()
    base = re.search(r"^FROM\s+apache/airflow:(\S+)-python(\d+\.\d+)\s*$", text, re.MULTILINE)
    assert base, "Dockerfile must start FROM apache/airflow:<version>-python<x.y>"
    pins = _pins()
    assert base.group(1) == pins["apache-airflow"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert base.group(2) in project["requires-python"]
    torch = re.search(r"^ARG TORCH_VERSION=(\S+)$", text, re.MULTILINE)
    assert torch and torch.group(1) == pins["torch"]
    assert "-c " in text and "constraints" in text  # installed with the project's constraints
    assert "[dev]" not in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", "outputs", "landing"} <= set(ignored)


def test_the_native_stack_and_compose_share_the_env_file_and_differ_only_in_addresses(compose, tmp_path):
    shared = read_env_file()
    own = compose["x-airflow-common"]["environment"]
    # Compose adds only what it must (addresses, secrets, the pipeline's paths), never a setting of airflow.env.
    assert not set(own) & set(shared)
    config = StackConfig(state=tmp_path, home=tmp_path, ports=dict.fromkeys(
        ["postgres", "redis", "scheduler_health", "triggerer_logs"], 1))
    native = environment(config)
    assert {key: native[key] for key in shared} == shared
    # Every Airflow setting Compose sets, the native stack sets too, to the same database account.
    assert {k for k in own if k.startswith("AIRFLOW__")} <= set(native)
    for key in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"):
        theirs, ours = urlsplit(own[key]), urlsplit(native[key])
        assert (theirs.scheme, theirs.username, theirs.password, theirs.path) == \
            (ours.scheme, ours.username, ours.password, ours.path), key
        assert ours.hostname == "127.0.0.1"
    assert urlsplit(native["AIRFLOW__CELERY__BROKER_URL"]).hostname == "127.0.0.1"
