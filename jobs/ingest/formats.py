"""How a landing file is laid out: its format, delimiter, encoding and where each needed column sits.

Only the first line (the header) and the Parquet schema are read here, in Python; the rows themselves are read
and checked by DuckDB (``sql/staging/``). Every whole-file problem is an ``IngestError`` that says which file,
which line and column, what was expected and what was found.

Formats (``FileFormat.name``, stored in ``ingested_files.file_format``):

=====================  ==========================  =================================================================
name                   files                       layout
=====================  ==========================  =================================================================
csv / tsv              ``*.csv`` / ``*.tsv``        UTF-8, header line; ',' / tab separated; '"' quoting
parquet                ``*.parquet``, ``*.pq``      named columns of any type
movielens_udata        ratings ``*.data``           u.data: ``user<TAB>item<TAB>rating<TAB>unix_ts``, no header
movielens_dat          ratings ``*.dat``            ratings.dat: ``UserID::MovieID::Rating::Timestamp``, no header
movielens_item         items ``*.item``             u.item: latin-1, '|' separated, 19 genre flag columns
movielens_movies_dat   items ``*.dat``              movies.dat: ``MovieID::Title::Genres`` (UTF-8, else latin-1)
=====================  ==========================  =================================================================

Exclusions and promotions (business rules) come as csv, tsv or parquet only: they have no MovieLens form, and
their optional columns can only be told apart by name.

Columns per kind (roles; ``*`` marks an optional column, absent = every value blank):

- ratings: user, item, rating, timestamp
- items: item, title, genres, description*, available_from*, available_until*
- exclusions: user (a blank value: every user), item, until*
- promotions: item, from*, until*

Column names are matched case-insensitively, ignoring '_', ' ' and '-': the configured name first
(``[ingest]`` in recs.toml), then the aliases below (so MovieLens ``ratings.csv`` / ``movies.csv`` with
``userId,movieId,...`` load as they are). Extra columns are ignored.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from jobs.config import IngestSettings
from jobs.sql import run_sql

RATING_ROLES = ("user", "item", "rating", "timestamp")
ITEM_ROLES = ("item", "title", "genres", "description", "available_from", "available_until")
ROLES = {
    "ratings": RATING_ROLES,
    "items": ITEM_ROLES,
    "exclusions": ("user", "item", "until"),
    "promotions": ("item", "from", "until"),
}
OPTIONAL_ROLES = frozenset({"description", "available_from", "available_until", "from", "until"})

# Aliases per role, after the configured name; compared in normalised form (see _norm).
ALIASES = {
    "user": ("user_id", "userId", "user"),
    "item": ("item_id", "itemId", "movieId", "movie_id", "item"),
    "rating": ("rating", "score"),
    "timestamp": ("timestamp", "rated_at", "ts", "time"),
    "title": ("title", "name"),
    "genres": ("genres", "genre"),
    "description": ("description", "overview", "text"),
    # Rule and availability windows have fixed names: no alias, no setting (a guess could flip a window's end).
    "available_from": ("available_from",),
    "available_until": ("available_until",),
    "from": ("from",),
    "until": ("until",),
}
# The genre flag columns of MovieLens 100K u.item (u.genre), in file order.
UITEM_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)
TEXT_SUFFIXES = {".csv": ",", ".tsv": "\t"}
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = {
    "ratings": ".csv, .tsv, .parquet, .data (MovieLens u.data), .dat (MovieLens ratings.dat)",
    "items": ".csv, .tsv, .parquet, .item (MovieLens u.item), .dat (MovieLens movies.dat)",
    "exclusions": ".csv, .tsv, .parquet",
    "promotions": ".csv, .tsv, .parquet",
}
_HASH_CHUNK = 1 << 20
_DELIMITER_NAMES = {",": "','", "\t": "tab", ";": "';'", "|": "'|'", "::": "'::'"}


class IngestError(ValueError):
    """A whole file cannot be ingested; nothing of it was loaded or recorded.

    ``str()`` reads ``<file> line <n>, column '<name>': expected <...>, found <...>``; line and column are left out
    where they do not apply.
    """

    def __init__(self, path: str, line: int | None, column: str | None, expected: str, found: str | None = None):
        self.path, self.line, self.column, self.expected, self.found = path, line, column, expected, found
        self.others: list[IngestError] = []  # further failed files of the same call (see jobs.ingest)
        self.result = None  # jobs.ingest: the IngestResult of the files of the same call that did load
        super().__init__(self._message())

    def _message(self) -> str:
        where = self.path + (f" line {self.line}" if self.line is not None else "")
        where += f", column '{self.column}'" if self.column is not None else ""
        text = f"{where}: expected {self.expected}"
        return text + (f", found {self.found}" if self.found is not None else "")

    def __str__(self) -> str:
        more = f" (and {len(self.others)} more failed file(s): {', '.join(e.path for e in self.others)})" if self.others else ""
        return self._message() + more


@dataclass(frozen=True)
class FileFormat:
    """Where the needed columns of one file are, in the terms ``sql/staging`` takes as parameters."""

    name: str
    reader: str                      # 'text', 'parquet', or 'parquet_table' (a file with its own file_row_number)
    n_fields: int                    # fields every data line must have (text); columns (parquet)
    positions: dict[str, int]        # role -> 1-based field position; 0 = absent
    column_names: dict[str, str]     # role -> the column's name in the file (for quarantine.column_name)
    delimiter: str = ","
    quote: str = ""                  # '"' where fields may be quoted, '' where quotes are plain text
    encoding: str = "utf-8"
    n_header_lines: int = 0
    float_roles: frozenset[str] = field(default_factory=frozenset)  # parquet float id columns: 1.0 -> '1'
    genre_flags_from: int = 0        # u.item: position of the first genre flag

    def staging_params(self) -> dict[str, object]:
        return {
            "n_header_lines": self.n_header_lines,
            "n_fields": self.n_fields,
            **{f"{role}_pos": pos for role, pos in self.positions.items()},
            **{f"{role}_column": name for role, name in self.column_names.items()},
        }

    def field_pattern(self) -> str:
        """RE2 pattern whose group 1 is one (possibly quoted) field; used only on lines that contain a quote."""
        d = re.escape(self.delimiter) if self.delimiter != "\t" else "\t"
        return f'(?:^|{d})("(?:[^"]|"")*"|[^{d}"]*)'


def display_path(path: Path, home: Path) -> str:
    """The path as the operator knows it: relative to RECS_HOME when inside it."""
    try:
        return str(path.relative_to(home))
    except ValueError:
        return str(path)


def first_invalid_utf8_line(path: Path) -> tuple[int, bytes] | None:
    """(1-based line, offending bytes) of the first bytes that are not UTF-8, streaming; None if all are valid."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with path.open("rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            pending = len(decoder.getstate()[0])  # bytes of a character split over the previous chunk (no newline)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                start = max(exc.start - pending, 0)
                return line + chunk[:start].count(b"\n"), chunk[start : start + 4]
            line += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return line, b""
    return None


def first_inconsistent_line_break(path: Path) -> tuple[int, str] | None:
    """(1-based line, what it has) of the first line whose break differs from the first line's (LF or CRLF), or
    that holds a CR inside it: what DuckDB's CSV reader refuses as 'an invalid state'. Streaming; read only once
    a load has failed, so a Python loop over the lines is fine."""
    expected: bytes | None = None
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            ending = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
            if b"\r" in line[: len(line) - len(ending)]:
                return number, "a CR inside the line (a line break of another kind, or a stray control character)"
            if expected is None:
                expected = ending
            elif ending and ending != expected:
                names = {b"\n": "LF", b"\r\n": "CRLF"}
                return number, f"a {names[ending]} line break where the lines before end in {names[expected]}"
    return None


def _read_first_line(path: Path, shown: str, limit: int = 1 << 20) -> bytes:
    with path.open("rb") as fh:
        head = fh.readline(limit)
    if not head:
        raise IngestError(shown, None, None, "a header line and rows", "an empty file (0 bytes)")
    if b"\r" in head.rstrip(b"\r\n"):
        raise IngestError(shown, 1, None, "lines that end in LF or CRLF",
                          "lines that end in CR alone (an old Mac text file): convert it, e.g. with tr '\\r' '\\n'")
    return head


class StillWriting(IngestError):
    """The file looks unfinished (just modified and cut off): it is left for a later run, not set aside."""


def check_complete(path: Path, shown: str, settle_seconds: float, now: float) -> None:
    """``StillWriting`` when ``path`` was modified within ``settle_seconds`` of ``now`` (epoch seconds) and looks cut
    off: empty, a text file whose last line has no line break yet, or a Parquet file without its footer. A file
    written elsewhere and then renamed into landing/ (the convention; names starting with '.' are ignored) is
    never cut off; an old file is taken as complete, line break or not."""
    info = path.stat()
    age = now - info.st_mtime
    if age >= settle_seconds:
        return
    with path.open("rb") as fh:
        fh.seek(max(info.st_size - 4, 0))
        tail = fh.read()
    parquet = path.suffix.lower() in PARQUET_SUFFIXES
    if info.st_size == 0:
        why = "an empty file"
    elif parquet and not tail.endswith(b"PAR1"):
        why = "a Parquet file without its footer yet"
    elif not parquet and not tail.endswith(b"\n"):
        why = "a last line without its line break"
    else:
        return
    raise StillWriting(shown, None, None, "a complete file (write it elsewhere, then rename it into landing/)",
                       f"{why}, modified {age:.0f} s ago: left for a later run")


class NulFinder:
    """Fed a file's chunks in order (``jobs.files.sha256_file(path, each_chunk=...)``): where its first NUL is.

    Only the offset is kept on the way (one ``find`` per chunk); the line is counted afterwards, and only for a
    file that has a NUL, so a clean file pays no line count."""

    def __init__(self) -> None:
        self.offset = 0
        self.first_nul: int | None = None

    def __call__(self, chunk: bytes) -> None:
        if self.first_nul is None and (at := chunk.find(b"\x00")) >= 0:
            self.first_nul = self.offset + at
        self.offset += len(chunk)

    def line(self, path: Path) -> int | None:
        """1-based line of the first NUL (None: there is none)."""
        if self.first_nul is None:
            return None
        lines, left = 1, self.first_nul
        with path.open("rb") as fh:
            while left > 0 and (chunk := fh.read(min(_HASH_CHUNK, left))):
                lines += chunk.count(b"\n")
                left -= len(chunk)
        return lines


def _decode_header(head: bytes, shown: str) -> str:
    try:
        return head.decode("utf-8").lstrip("\ufeff").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise IngestError(shown, 1, None, "UTF-8 text", f"bytes that are not UTF-8 ({head[exc.start:exc.start + 4]!r})") from None


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name).lower()


def resolve_columns(found: list[str], roles: tuple[str, ...], wanted: dict[str, str], shown: str, line: int | None) -> dict[str, int]:
    """1-based position of each role's column among ``found``; IngestError naming a missing required column."""
    index: dict[str, int] = {}
    for pos, name in enumerate(found, start=1):
        index.setdefault(_norm(name), pos)
    positions: dict[str, int] = {}
    for role in roles:
        candidates = (wanted.get(role, ALIASES[role][0]), *ALIASES[role])
        pos = next((index[_norm(c)] for c in candidates if _norm(c) in index), 0)
        if pos == 0 and role not in OPTIONAL_ROLES:
            also = sorted({c for c in candidates[1:] if _norm(c) != _norm(candidates[0])})
            raise IngestError(
                shown, line, candidates[0],
                f"a required column '{candidates[0]}' (or one of: {', '.join(also)})",
                f"columns {', '.join(repr(c) for c in found)}",
            )
        positions[role] = pos
    return positions


def _wanted(kind: str, ingest: IngestSettings) -> dict[str, str]:
    """The configured column names of ``kind``: rules name users and items as the ratings they act on do."""
    if kind == "ratings":
        return {"user": ingest.user_column, "item": ingest.item_column, "rating": ingest.rating_column,
                "timestamp": ingest.timestamp_column}
    if kind in ("exclusions", "promotions"):
        return {"user": ingest.user_column, "item": ingest.item_column}
    return {}


def _names(found: list[str], positions: dict[str, int]) -> dict[str, str]:
    return {role: (found[pos - 1] if pos else role) for role, pos in positions.items()}


def _header_format(path: Path, shown: str, kind: str, ingest: IngestSettings, delimiter: str) -> FileFormat:
    header = _decode_header(_read_first_line(path, shown), shown)
    found = [c.strip() for c in next(csv.reader([header], delimiter=delimiter))] if header.strip() else []
    if len(found) <= 1:
        others = [d for d in (";", "\t", "|", ",") if d != delimiter and d in header]
        if others:
            raise IngestError(
                shown, 1, None,
                f"a header line with columns separated by {_DELIMITER_NAMES[delimiter]}",
                f"one column {header[:80]!r} that contains {_DELIMITER_NAMES[others[0]]}: "
                f"the file seems to be {_DELIMITER_NAMES[others[0]]}-separated",
            )
    positions = resolve_columns(found, ROLES[kind], _wanted(kind, ingest), shown, 1)
    return FileFormat(
        name="csv" if delimiter == "," else "tsv", reader="text", n_fields=len(found), positions=positions,
        column_names=_names(found, positions), delimiter=delimiter, quote='"', n_header_lines=1,
    )


def _headerless_format(path: Path, shown: str, kind: str) -> FileFormat:
    text = _read_first_line(path, shown).decode("latin-1").rstrip("\r\n")
    suffix = path.suffix.lower()
    if kind == "items" and suffix == ".item":
        positions = {"item": 1, "title": 2, "genres": 0, "description": 0, **_NO_WINDOW}
        fmt = FileFormat("movielens_item", "text", 5 + len(UITEM_GENRES), positions, _std_names(positions),
                         delimiter="|", encoding="latin-1", genre_flags_from=6)
        layout = "MovieLens u.item lines: id|title|release date|video release date|IMDb URL|19 genre flags"
    elif kind == "items":  # movies.dat
        positions = {"item": 1, "title": 2, "genres": 3, "description": 0, **_NO_WINDOW}
        encoding = "utf-8" if first_invalid_utf8_line(path) is None else "latin-1"
        fmt = FileFormat("movielens_movies_dat", "text", 3, positions, _std_names(positions), delimiter="::",
                         encoding=encoding)
        layout = "MovieLens movies.dat lines: MovieID::Title::Genres"
    else:
        delimiter, name = ("::", "movielens_dat") if "::" in text else ("\t", "movielens_udata")
        positions = {"user": 1, "item": 2, "rating": 3, "timestamp": 4}
        fmt = FileFormat(name, "text", 4, positions, _std_names(positions), delimiter=delimiter)
        layout = ("MovieLens ratings without a header: user<TAB>item<TAB>rating<TAB>timestamp (u.data) "
                  "or UserID::MovieID::Rating::Timestamp (ratings.dat)")
    n_found = len(text.split(fmt.delimiter))
    if n_found != fmt.n_fields:  # a whole file in the wrong layout is refused, not quarantined line by line
        raise IngestError(shown, 1, None, f"{layout} ({fmt.n_fields} fields)",
                          f"{n_found} field(s) in {text[:80]!r}")
    return fmt


# MovieLens item files have no availability window: their items are always available (both ends null).
_NO_WINDOW = {"available_from": 0, "available_until": 0}


def _std_names(positions: dict[str, int]) -> dict[str, str]:
    names = {"user": "user_id", "item": "item_id", "rating": "rating", "timestamp": "timestamp"}
    return {role: names.get(role, role) for role in positions}


def _parquet_format(con: duckdb.DuckDBPyConnection, path: Path, shown: str, kind: str, ingest: IngestSettings) -> FileFormat:
    try:
        schema = run_sql(con, "staging/parquet_schema", {"path": str(path)}).fetchall()
    except duckdb.Error as exc:
        raise IngestError(shown, None, None, "a readable Parquet file", _first_line(exc)) from None
    found = [name for name, _ in schema]
    types = dict(schema)
    positions = resolve_columns(found, ROLES[kind], _wanted(kind, ingest), shown, None)
    names = _names(found, positions)
    floats = frozenset(r for r in ("user", "item") if positions.get(r) and types[names[r]] in ("FLOAT", "DOUBLE"))
    # DuckDB numbers Parquet rows in a virtual column of this name; a file with its own is numbered another way.
    reader = "parquet_table" if "file_row_number" in {name.lower() for name in found} else "parquet"
    return FileFormat("parquet", reader, len(found), positions, names, float_roles=floats)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def detect_format(con: duckdb.DuckDBPyConnection, path: Path, shown: str, kind: str, ingest: IngestSettings) -> FileFormat:
    """The layout of ``path`` from its name, first line or Parquet schema; IngestError if it cannot be ingested."""
    if kind not in SUPPORTED:
        raise ValueError(f"kind must be one of {tuple(SUPPORTED)}, not {kind!r}")
    suffix = path.suffix.lower()
    if path.stat().st_size == 0:
        raise IngestError(shown, None, None, "a header line and rows" if suffix in TEXT_SUFFIXES else "data",
                          "an empty file (0 bytes)")
    if suffix in PARQUET_SUFFIXES:
        return _parquet_format(con, path, shown, kind, ingest)
    if suffix in TEXT_SUFFIXES:
        return _header_format(path, shown, kind, ingest, TEXT_SUFFIXES[suffix])
    if suffix in (".data", ".dat") and kind == "ratings" or suffix in (".item", ".dat") and kind == "items":
        # only ratings and items have header-less (MovieLens) forms; a rule file always names its columns
        return _headerless_format(path, shown, kind)
    raise IngestError(shown, None, None, f"a {kind} file with one of the extensions {SUPPORTED[kind]}",
                      f"the extension {suffix or '(none)'!r}")
