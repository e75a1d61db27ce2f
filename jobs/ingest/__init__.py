"""Ingest: landing files into the warehouse exactly once (``files``), each file's layout detected first
(``formats``)."""

from jobs.ingest.files import FileResult, IngestResult, ingest_landing, ingest_paths, landing_file
from jobs.ingest.formats import IngestError

__all__ = ["FileResult", "IngestError", "IngestResult", "ingest_landing", "ingest_paths", "landing_file"]
