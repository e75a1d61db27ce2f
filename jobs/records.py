"""The typed records that travel between steps (through XCom in Airflow, as values in ``recs run``).

``RunContext``: the run, the key every step's files and rows are filed under. ``Champion``: the gate's decision
that the scoring steps act on. Both serialise here and nowhere else (``to_xcom`` / ``from_xcom``: small JSON
objects of plain values), so no step re-reads a dict by string keys.

A run is identified by the orchestrator's run id (Airflow's ``run_id``; ``recs run`` makes one from the
data's cut-off). Steps are idempotent per run: rerunning one overwrites that run's files and rows only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any, Self

_SAFE = re.compile(r"[A-Za-z0-9_=-][A-Za-z0-9_.=-]*")
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=-]+")


def run_key(run_id: str) -> str:
    """``run_id`` as one file-name component, distinct for distinct run ids.

    An id of safe characters (letters, digits, ``_ . = -``, not starting with '.') is its own key. Any other
    (Airflow's hold ':' and '+') keeps a readable form, unsafe runs replaced by '_', plus '~' and 12 hex digits
    of its sha256: '~' never occurs in a plain key, so ``x:1`` (``x_1~...``) and ``x_1`` cannot collide.
    """
    if not run_id:
        raise ValueError("a run id cannot be empty")
    if _SAFE.fullmatch(run_id):
        return run_id
    readable = _UNSAFE.sub("_", run_id).strip("._")
    return f"{readable}~{hashlib.sha256(run_id.encode()).hexdigest()[:12]}"


class _Record:
    """Serialisation shared by the records: dates and datetimes as ISO strings, everything else as it is."""

    def to_xcom(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items()}  # type: ignore[call-overload]

    @classmethod
    def from_xcom(cls, raw: dict[str, Any] | Self) -> Self:
        if isinstance(raw, cls):
            return raw
        values = {}
        for f in fields(cls):  # type: ignore[arg-type]
            value = raw.get(f.name)
            if value is not None and f.type in ("date | None", "datetime | None"):
                value = (datetime if f.type.startswith("datetime") else date).fromisoformat(value)
            values[f.name] = value
        return cls(**values)


@dataclass(frozen=True)
class RunContext(_Record):
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


@dataclass(frozen=True)
class Champion(_Record):
    """Which artifact scores tonight: the champion model and the run that trained it, with the gate's verdict."""

    model: str
    run_id: str
    decision: str  # first | promoted | retained | kept | forced
    reason: str = ""
    #: The metrics record (``metrics/<candidate>.json``) of the configuration that serves: its params.
    candidate: str = ""

    @property
    def run_key(self) -> str:
        return run_key(self.run_id)
