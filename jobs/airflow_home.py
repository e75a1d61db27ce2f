"""Write the project's Airflow settings into ``$AIRFLOW_HOME/airflow.cfg`` (``make airflow`` and ``make demo`` run it).

Airflow writes a default ``airflow.cfg`` the first time any ``airflow`` command runs: ``load_examples = True``
(about 118 example DAGs), ``dags_folder = $AIRFLOW_HOME/dags``. The Makefile's environment overrides those for the
commands it runs, but an ``airflow ...`` typed with only ``AIRFLOW_HOME`` set (the README's backfill steps) reads the
file. So the project's ``[core]`` settings are written into the file itself, in place: comments and every other
setting (the generated fernet key and JWT secret among them) stay as Airflow wrote them. Each value is the
environment's ``AIRFLOW__CORE__<KEY>`` where set (what the Makefile exports), else the project's default below.

    AIRFLOW_HOME=airflow_home .venv/bin/python -m jobs.airflow_home
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from jobs.config import PROJECT_ROOT

#: The project's [core] settings (the environment's AIRFLOW__CORE__<KEY> wins, as it does for Airflow).
CORE = {
    "dags_folder": str(PROJECT_ROOT / "dags"),
    "plugins_folder": str(PROJECT_ROOT / "plugins"),
    "load_examples": "False",
    "dags_are_paused_at_creation": "False",
    # A few tasks at once on a small machine, not the default 32.
    "parallelism": "4",
    "max_active_tasks_per_dag": "4",
}


def project_settings(environ: dict[str, str] | None = None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    return {key: environ.get(f"AIRFLOW__CORE__{key.upper()}", value) for key, value in CORE.items()}


def set_options(text: str, section: str, values: dict[str, str]) -> str:
    """``text`` (an airflow.cfg) with each ``key = value`` of ``section`` set: an existing (or commented-out) line is
    replaced where it stands, a missing one is added at the top of the section (the section at the end if absent)."""
    lines = text.splitlines(keepends=True)
    header = next((i for i, line in enumerate(lines) if line.strip() == f"[{section}]"), None)
    if header is None:
        lines += ([] if not lines or lines[-1].endswith("\n") else ["\n"]) + [f"\n[{section}]\n"]
        header = len(lines) - 1
    end = next((i for i in range(header + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines))
    missing = []
    for key, value in values.items():
        option = re.compile(rf"^\s*#?\s*{re.escape(key)}\s*=")
        at = [i for i in range(header + 1, end) if option.match(lines[i])]
        live = [i for i in at if not lines[i].lstrip().startswith("#")]
        if live or at:
            lines[(live or at)[0]] = f"{key} = {value}\n"
        else:
            missing.append(f"{key} = {value}\n")
    lines[header + 1:header + 1] = missing
    return "".join(lines)


def configure(airflow_home: Path, environ: dict[str, str] | None = None) -> Path:
    """Create ``airflow.cfg`` as Airflow would (when missing), then write the project's settings into it."""
    path = airflow_home / "airflow.cfg"
    if not path.exists():
        # Airflow reads AIRFLOW_HOME when its configuration module is imported: this process was started with it.
        os.environ.setdefault("AIRFLOW_HOME", str(airflow_home))
        from airflow.configuration import write_default_airflow_configuration_if_needed

        write_default_airflow_configuration_if_needed()
    text = path.read_text()
    updated = set_options(text, "core", project_settings(environ))
    if updated != text:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(updated)
        tmp.chmod(path.stat().st_mode)
        tmp.replace(path)
    return path


def main() -> None:
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        sys.exit("set AIRFLOW_HOME (make airflow and make demo use airflow_home/)")
    path = configure(Path(home).resolve())
    print(f"{path}: " + ", ".join(f"{k} = {v}" for k, v in project_settings().items()))


if __name__ == "__main__":
    main()
