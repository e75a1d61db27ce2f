"""``airflow.env``: the Airflow settings docker-compose.yml (``env_file``) and the native stack both read."""

from __future__ import annotations

import re
from pathlib import Path

from jobs.config import PROJECT_ROOT

ENV_FILE = PROJECT_ROOT / "airflow.env"

_LINE = re.compile(r"^(?P<key>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


class EnvFileError(ValueError):
    pass


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """KEY=VALUE lines (Compose's env-file syntax without interpolation): ``#`` comments, blank lines, values
    optionally in single or double quotes, an unquoted value's `` #`` comment dropped. A ``$`` is refused: Compose
    would interpolate it and this reader would not, so the two would disagree."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            raise EnvFileError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = match["value"].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].rstrip()
        if "$" in value:
            raise EnvFileError(f"{path}:{number}: {match['key']} uses '$' (interpolation is not shared with Compose)")
        values[match["key"]] = value
    return values
