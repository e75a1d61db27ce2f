"""The versioned reader: the published version's ``Index``, switched to the next version atomically.

Every request asks ``current()``, which costs two ``stat`` calls: the serving file (``outputs/recs.duckdb``,
replaced by ``rename`` on every publish, so its inode changes) and the pointer (``outputs/current.json``). When
either changed, a background thread reads the new version into a new ``Index`` while requests keep being answered
from the old one; the new one is put in place by one reference assignment. A response is built from the one
``Index`` it fetched, so it never mixes two versions. A version that cannot be read (a file gone between the
``stat`` and the open, an I/O error) leaves the old index serving; the load is retried ``retry_seconds`` later.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

import anyio.to_thread
import duckdb

from jobs.api.index import Index, load_index, published_at_for
from jobs.config import Settings

log = logging.getLogger("recs.api")

#: (inode, device, mtime ns, size) of a file; None when it does not exist.
FileStamp = tuple[int, int, int, int] | None


class NothingPublished(LookupError):
    """No version is published (or none could be read yet)."""


def _stamp(path: Path) -> FileStamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size


class PublishedReader:
    """The published version of one install, as an ``Index`` that follows each publish."""

    def __init__(self, serving: Path, pointer: Path, max_top: int = 100, retry_seconds: float = 1.0) -> None:
        self.serving, self.pointer = Path(serving), Path(pointer)
        self.max_top = int(max_top)
        self.retry_seconds = retry_seconds
        self._index: Index | None = None
        self._stamps: tuple[FileStamp, FileStamp] = (None, None)  # what the index was loaded from
        self._lock = threading.Lock()  # one load at a time
        self._flag = threading.Lock()  # guards _loading only: never held while loading
        self._loading = False
        self._failed: tuple[tuple[FileStamp, FileStamp], float] | None = None
        self.last_error: str | None = None

    @classmethod
    def for_settings(cls, settings: Settings) -> PublishedReader:
        return cls(settings.layout.serving, settings.layout.current_pointer, max_top=settings.serve.max_top)

    def current(self) -> Index | None:
        """The index to answer from now, without waiting: a changed version starts loading in the background."""
        index = self._index
        if not self._loading:
            stamps = (_stamp(self.serving), _stamp(self.pointer))
            if stamps != self._stamps and stamps[0] is not None and not self._recently_failed(stamps):
                self._start_load()
        return index

    async def get(self) -> Index:
        """The index to answer from; before the first version is loaded, waits for it (off the event loop)."""
        index = self.current()
        if index is None:
            index = await anyio.to_thread.run_sync(self.refresh)
        if index is None:
            raise NothingPublished(self.last_error or "nothing published yet: run `recs run` (or `make demo`) first")
        return index

    def refresh(self) -> Index | None:
        """Load the published version now if it changed (blocking); the index in use afterwards."""
        with self._lock:
            self._load_changed()
        return self._index

    def _recently_failed(self, stamps: tuple[FileStamp, FileStamp]) -> bool:
        return (self._failed is not None and self._failed[0] == stamps
                and time.monotonic() - self._failed[1] < self.retry_seconds)

    def _start_load(self) -> None:
        with self._flag:
            if self._loading:
                return
            self._loading = True
        threading.Thread(target=self._background_load, name="recs-api-reload", daemon=True).start()

    def _background_load(self) -> None:
        try:
            with self._lock:
                self._load_changed()
        finally:
            self._loading = False

    def _load_changed(self) -> None:
        """With the lock held: read the version the files show now, unless the index already is it."""
        stamps = (_stamp(self.serving), _stamp(self.pointer))  # taken before reading: a change meanwhile reloads
        if stamps == self._stamps:  # what we serve (again: a file that failed was replaced by it)
            self._failed, self.last_error = None, None
            return
        if stamps[0] is None or self._recently_failed(stamps):
            return
        old = self._index
        try:
            if old is not None and stamps[0] == self._stamps[0]:  # only current.json changed: same data
                new = old.with_published_at(published_at_for(self.pointer, old.run_id))
            else:
                started = time.perf_counter()
                new = load_index(self.serving, self.pointer)
                log.info("serving run %s (%s users; loaded in %.2f s)", new.run_id, f"{len(new.recommendations):,}",
                         time.perf_counter() - started)
        except (OSError, ValueError, duckdb.Error) as exc:  # keep answering from the version we have
            self._failed = (stamps, time.monotonic())
            self.last_error = f"the published version could not be read: {type(exc).__name__}: {exc}"
            log.warning("%s; still serving run %s", self.last_error, old.run_id if old else "none")
            return
        self._index = new  # the switch: one reference assignment
        self._stamps = stamps
        self._failed, self.last_error = None, None
