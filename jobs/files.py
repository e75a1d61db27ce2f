"""Write-then-rename: the one way the pipeline writes a file that another process may read.

A reader (or a retried task) sees either the old file or the complete new one, never a half-written one: the
content goes to a temporary name beside the target, then ``os.replace`` swaps it in (atomic on POSIX). A failure
midway leaves the target as it was and removes the temporary file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


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
