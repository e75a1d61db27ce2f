"""What one pass over a text file's bytes tells before DuckDB reads it: where a NUL is, how many lines it has, and
whether it is *plain* (every line one record: the fast staging route may read it field by field).

The pass rides on the sha256 read (``jobs.files.sha256_file(path, each_chunk=TextScan())``), and each test is a
C-speed search of the chunk for one byte (``bytes.find``/``count``): together less than the hash costs.

A file is plain when no line after the first holds the quote character and every carriage return ends a line
(CRLF). DuckDB's multi-column CSV reader (``sql/staging/src_text_fields.sql``) then yields one row per line, in
order, except that it drops empty lines; so the fast route compares its row count with ``n_lines``, and a file
whose counts differ (an empty line), whose lines DuckDB refuses (a wrong number of fields, bytes that are not
UTF-8), or that is not plain takes the line route (``sql/staging/src_text_lines.sql``), which handles quotes and
blank lines and names the bad line. Either way its rows are numbered and checked alike.
"""

from __future__ import annotations


class TextScan:
    """Fed a file's chunks in order: the line of its first NUL, its line count, and whether it is plain."""

    def __init__(self) -> None:
        self.n_newlines = 0
        #: 1-based line of the first NUL byte, if any (DuckDB would read a line of NULs as blank, uncounted).
        self.nul_line: int | None = None
        self.has_quote_in_body = False
        self.has_bare_cr = False
        self._in_first_line = True
        self._cr_pending = False  # the last chunk ended with a CR: the next must start with its LF
        self._last = b""

    def __call__(self, chunk: bytes) -> None:
        if not chunk:
            return
        if self.nul_line is None and (at := chunk.find(b"\x00")) >= 0:
            self.nul_line = self.n_newlines + chunk.count(b"\n", 0, at) + 1
        self._look_for_quote(chunk)
        self._look_for_bare_cr(chunk)
        self.n_newlines += chunk.count(b"\n")
        self._last = chunk[-1:]

    def _look_for_quote(self, chunk: bytes) -> None:
        start = 0
        if self._in_first_line:  # the header may quote its names
            end = chunk.find(b"\n")
            if end < 0:
                return
            self._in_first_line = False
            start = end + 1
        if not self.has_quote_in_body and chunk.find(b'"', start) >= 0:
            self.has_quote_in_body = True

    def _look_for_bare_cr(self, chunk: bytes) -> None:
        if self._cr_pending and not chunk.startswith(b"\n"):
            self.has_bare_cr = True
        self._cr_pending = False
        if self.has_bare_cr or chunk.find(b"\r") < 0:
            return
        n_cr = chunk.count(b"\r")
        if chunk.endswith(b"\r"):
            self._cr_pending, n_cr = True, n_cr - 1
        if n_cr != chunk.count(b"\r\n"):
            self.has_bare_cr = True

    @property
    def n_lines(self) -> int:
        """Lines as an editor counts them: a last line without its line break counts too."""
        return self.n_newlines + (1 if self._last not in (b"", b"\n") else 0)

    def plain(self, quote: str) -> bool:
        """Whether every line is one record when ``quote`` ('"', or '' where quotes are plain text) quotes fields."""
        quoted = quote != "" and self.has_quote_in_body
        return self.nul_line is None and not quoted and not self.has_bare_cr and not self._cr_pending
