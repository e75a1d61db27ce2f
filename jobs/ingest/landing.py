"""The landing folder: which files in ``landing/<kind>/`` are read, and the nightly ingest of them.

A landing file is read only if it is a regular file directly in ``landing/<kind>`` (``landing/ratings``,
``landing/items``, ``landing/exclusions`` or ``landing/promotions``: ``KINDS``) whose name does not start with
'.', and only where it resolves inside the landing folder (no path traversal, no symlink out). Loading itself
is ``jobs.ingest.files``.
"""

from __future__ import annotations

import os
import re
import stat
from datetime import datetime
from pathlib import Path

import duckdb

from jobs.config import Settings
from jobs.ingest.files import KINDS, IngestResult, ingest_all
from jobs.ingest.formats import IngestError, display_path


def ingest_landing(
    settings: Settings, as_of: datetime | None = None, *, con: duckdb.DuckDBPyConnection | None = None,
    run_id: str | None = None,
) -> IngestResult:
    """Load every new file in ``landing/<kind>`` for each of ``KINDS``, in that order (ratings, items, exclusions,
    promotions), each folder's files by name.

    Only regular files directly inside those folders are read (names starting with '.' are ignored, as are
    sub-folders: write a file under such a name, then rename it). Rows timed after ``as_of`` (default: now) +
    ``future_tolerance_hours`` are quarantined. One bad file never stops the others, nor the night: a file that
    cannot be ingested (unreadable, changed after it was ingested, a symlink out of landing/, empty) is set
    aside with its reason, and one still being written is deferred (``result.set_aside``, the
    ``set_aside_files`` table, a warning in the log); the files ingested are attributed to ``run_id``.
    """
    jobs: list[tuple[Path, str, str]] = []
    errors: list[tuple[str, str, IngestError]] = []
    for kind in KINDS:
        for name in _listing(settings.landing_dir / kind):
            try:
                jobs.append((landing_file(settings, kind, name), display_path(settings.landing_dir / kind / name, settings.home), kind))
            except IngestError as exc:
                errors.append((str(settings.landing_dir / kind / name), kind, exc))
    return ingest_all(settings, jobs, as_of, con, errors, run_id=run_id, strict=False)




_SAFE_NAME = re.compile(r"^[^/\\\x00]+$")


def landing_file(settings: Settings, kind: str, name: str) -> Path:
    """The resolved path of ``landing/<kind>/<name>``, refusing names that could leave the folder.

    A name must be a plain file name (no '/', '\\', NUL or leading '.', so no '..'); the path, after following any
    symlink, must be a regular file inside the landing folder.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    folder = settings.landing_dir / kind
    shown = display_path(folder, settings.home) + "/" + name
    if not _SAFE_NAME.match(name) or name.startswith("."):
        raise IngestError(shown, None, None, f"a plain file name inside {display_path(folder, settings.home)}",
                          "a name with a path separator or '..' (path traversal)")
    root = settings.landing_dir.resolve()
    resolved = (folder / name).resolve()
    if not resolved.is_relative_to(root):
        raise IngestError(shown, None, None, "a file inside the landing folder",
                          f"a symlink that leads outside it (to {resolved})")
    mode = resolved.stat().st_mode if resolved.exists() else 0
    if not stat.S_ISREG(mode):
        raise IngestError(shown, None, None, "a regular file", "a folder, device or broken link")
    return resolved


def _listing(folder: Path) -> list[str]:
    if not folder.is_dir():
        return []
    with os.scandir(folder) as entries:
        names = [e.name for e in entries if not e.name.startswith(".") and not e.is_dir(follow_symlinks=False)]
    return sorted(names)


