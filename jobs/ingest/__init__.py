"""Ingest: files into the warehouse exactly once (``files``), each file's layout detected first (``formats``),
the landing folder read every night (``landing``)."""

from jobs.ingest.files import FileResult, IngestResult, ingest_paths
from jobs.ingest.formats import IngestError, StillWriting
from jobs.ingest.landing import ingest_landing, landing_file

__all__ = ["FileResult", "IngestError", "IngestResult", "StillWriting", "ingest_landing", "ingest_paths", "landing_file"]
