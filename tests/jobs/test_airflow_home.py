"""The project's Airflow settings live in airflow_home/airflow.cfg, not only in the Makefile's environment: after
`make airflow-home` (which `make airflow` and `make demo` run), the README's `airflow ...` commands with only
AIRFLOW_HOME set see the project's DAGs and none of Airflow's ~118 examples."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobs.airflow_home import set_options
from tests.support import ROOT

AIRFLOW = str(Path(sys.executable).parent / "airflow")


def only_airflow_home(airflow_home: Path) -> dict[str, str]:
    """The environment of a shell where the user set AIRFLOW_HOME and nothing else of Airflow's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return {**env, "AIRFLOW_HOME": str(airflow_home)}


def config_value(env, key: str, section: str = "core") -> str:
    done = subprocess.run([AIRFLOW, "config", "get-value", section, key], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


def test_settings_replace_lines_in_place_and_add_what_is_missing():
    text = "[core]\n# The folder\ndags_folder = /x/dags\n# load_examples = True\n\n[database]\nload_examples = keep\n"
    out = set_options(text, "core", {"dags_folder": "/repo/dags", "load_examples": "False", "parallelism": "4"})
    assert out == ("[core]\nparallelism = 4\n# The folder\ndags_folder = /repo/dags\nload_examples = False\n\n"
                   "[database]\nload_examples = keep\n")
    assert set_options(out, "core", {"dags_folder": "/repo/dags", "load_examples": "False", "parallelism": "4"}) == out
    assert set_options("[api]\nport = 1\n", "core", {"a": "b"}) == "[api]\nport = 1\n\n[core]\na = b\n"


def test_make_airflow_home_fixes_an_existing_default_config(tmp_path):
    home = tmp_path / "airflow_home"
    env = only_airflow_home(home)
    # Any airflow command writes Airflow's defaults first: the friction, as it was.
    assert config_value(env, "load_examples") == "True"
    secrets = {key: config_value(env, key, section) for section, key in (("core", "fernet_key"), ("api_auth", "jwt_secret"))}

    make = subprocess.run(["make", "-s", "-o", ".venv/.installed-stamp", "airflow-home", f"AIRFLOW_HOME={home}"],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    assert make.returncode == 0, make.stdout + make.stderr

    assert config_value(env, "load_examples") == "False"
    assert config_value(env, "dags_folder") == str(ROOT / "dags")
    assert config_value(env, "plugins_folder") == str(ROOT / "plugins")
    assert config_value(env, "dags_are_paused_at_creation") == "False"
    assert config_value(env, "parallelism") == "4"
    # What Airflow generated is kept: the same keys sign and decrypt as before.
    assert {key: config_value(env, key, section) for section, key in (("core", "fernet_key"), ("api_auth", "jwt_secret"))} == secrets


@pytest.mark.slow
def test_with_only_airflow_home_set_airflow_parses_the_project_dags_and_no_examples(tmp_path):
    home = tmp_path / "airflow_home"
    env = only_airflow_home(home)
    setup = subprocess.run([sys.executable, "-m", "jobs.airflow_home"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert setup.returncode == 0, setup.stderr[-2000:]
    migrate = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    listed = subprocess.run([AIRFLOW, "dags", "list", "--local", "-o", "json", "--columns", "dag_id,fileloc"],
                            env=env, capture_output=True, text=True, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr[-2000:]
    dags = json.loads(next(line for line in listed.stdout.splitlines() if line.startswith("[")))
    assert {"recs_nightly", "recs_tune"} <= {d["dag_id"] for d in dags}
    assert all(Path(d["fileloc"]).parent == ROOT / "dags" for d in dags), dags  # no example DAGs
