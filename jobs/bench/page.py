"""docs/benchmarks.md: each benchmark owns one section between its markers, and says what machine it ran on."""

from __future__ import annotations

import contextlib
import os
import platform
from pathlib import Path
from typing import Any

from jobs.files import write_text


def write_section(path: Path, section: str, start: str, end: str) -> None:
    """Put ``section`` (markers included) into ``path``, replacing only what lies between ``start`` and ``end``;
    without the markers it is appended, and a missing file starts with a heading."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    section = section.rstrip("\n")
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + section + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    write_text(path, text)


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> dict[str, Any]:
    """The facts a benchmark's figures depend on: CPU, the cores this process may use (``nproc``), memory, OS."""
    return {"cpu": cpu_name(), "cores": len(os.sched_getaffinity(0)),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "os": platform.platform(), "python": platform.python_version()}


def machine_text() -> str:
    """The machine in one phrase, for a section's first paragraph."""
    facts = machine()
    return f"{facts['cores']} CPU cores (`nproc`), {facts['cpu']}"
