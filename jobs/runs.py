"""Run identity and bookkeeping: the key every step's files and rows are filed under, and the runs table.

A run is identified by the orchestrator's run id (Airflow's ``run_id``; ``recs run`` makes one from the
data's cut-off). Steps are idempotent per run: rerunning one overwrites that run's files and rows only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from jobs.config import Settings
from jobs.warehouse import run_sql

_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


def run_key(run_id: str) -> str:
    """``run_id`` made safe as one path component (Airflow ids hold ':' and '+')."""
    key = _UNSAFE.sub("_", run_id).strip("._")
    if not key:
        raise ValueError(f"run id {run_id!r} has no usable characters")
    return key


@dataclass(frozen=True)
class RunContext:
    """What identifies a run: its id, the day it processes and the cut-off for the ratings it uses."""

    run_id: str
    logical_date: date | None = None
    as_of: datetime | None = None  # ratings with rated_at < as_of are used; None = all

    @property
    def key(self) -> str:
        return run_key(self.run_id)

    @property
    def run_date(self) -> date | None:
        """The date the outputs are filed under: the day processed (the data interval's start)."""
        if self.logical_date:
            return self.logical_date
        if self.as_of:
            return (self.as_of - timedelta(microseconds=1)).date()
        return None

    def dir(self, settings: Settings) -> Path:
        return settings.run_dir(self.key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "logical_date": self.logical_date.isoformat() if self.logical_date else None,
            "as_of": self.as_of.isoformat() if self.as_of else None,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> RunContext:
        return cls(
            run_id=raw["run_id"],
            logical_date=date.fromisoformat(raw["logical_date"]) if raw.get("logical_date") else None,
            as_of=datetime.fromisoformat(raw["as_of"]) if raw.get("as_of") else None,
        )


def record_start(con: duckdb.DuckDBPyConnection, run: RunContext, started_at: datetime) -> None:
    """Insert (or reset, on a rerun) the run's row with status 'running'."""
    run_sql(
        con,
        "runs/record_start",
        {"run_id": run.run_id, "logical_date": run.run_date, "as_of": run.as_of, "started_at": started_at},
    )


def record_update(con: duckdb.DuckDBPyConnection, run_id: str, **values: Any) -> None:
    """Set some columns of the run's row (column names are fixed here, values are parameters)."""
    allowed = {"status", "finished_at", "rows_ingested", "rows_quarantined", "users", "items", "champion_model", "message"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not a runs column: {sorted(unknown)}")
    assignments = ", ".join(f"{name} = ${name}" for name in values)
    con.execute(f"update runs set {assignments} where run_id = $run_id", {"run_id": run_id, **values})
