"""Write-then-rename: the one way the pipeline writes a file that another process may read.

A reader (or a retried task) sees either the old file or the complete new one, never a half-written one: the
content goes to a temporary name beside the target, then ``os.replace`` swaps it in (atomic on POSIX). A failure
midway leaves the target as it was and removes the temporary file.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_HASH_CHUNK = 1 << 20


def sha256_file(path: Path, each_chunk: Callable[[bytes], None] | None = None) -> str:
    """The hex sha256 of a file, streamed; ``each_chunk`` sees the same bytes on the way (one read for both)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
            if each_chunk is not None:
                each_chunk(chunk)
    return digest.hexdigest()


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block succeeds it becomes ``path`` in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> Path:
    with replacing(path) as tmp:
        tmp.write_text(text)
    return path


def write_json(path: Path, record: Any) -> Path:
    return write_text(path, json.dumps(record, indent=2, default=str))


def write_parquet(table: Any, path: Path, **options: Any) -> Path:
    """A pyarrow Table (or a pandas DataFrame) as a Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(table, pa.Table):
        table = pa.Table.from_pandas(table, preserve_index=False)
    with replacing(path) as tmp:
        pq.write_table(table, tmp, **options)
    return path


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary files ``replacing`` left in ``folder`` when its process died mid-write (their pid
    is in the name and no longer runs); a live writer's are left alone."""
    removed = []
    for path in folder.glob(".*.tmp"):
        pid = path.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not pid_alive(int(pid)) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
