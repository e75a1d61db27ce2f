"""Fault injection for crash-safety tests: die abruptly at a named step, as a killed worker would.

Set ``RECS_CRASH_AT=<step>`` (e.g. ``publish:after_parquet``); the process exits with status 137 without
cleanup, finally blocks or flushing, when it reaches that step. Unset, this costs one dict lookup.
"""

from __future__ import annotations

import os

CRASH_ENV = "RECS_CRASH_AT"
CRASH_EXIT_CODE = 137


def maybe_crash(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os._exit(CRASH_EXIT_CODE)
