"""The two staging routes of rating text files: the fast 'fields' route for plain files (``jobs/ingest/scan.py``,
``sql/staging/src_text_fields.sql``) and the 'lines' route load, number and quarantine every file alike, and the
fast route hands a file it cannot read one row per line to the line route."""

import logging
import os
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest

from jobs import warehouse
from jobs.config import load_settings
from jobs.ingest import IngestError, ingest_paths
from jobs.ingest.scan import TextScan

BAD = Path(__file__).parent / "bad_inputs"
AS_OF = datetime(2024, 1, 1)
HEADER = "user_id,item_id,rating,timestamp\n"
#: Semantic problems on lines DuckDB's CSV reader splits cleanly: every check of stg_rating_lines.sql, plus
#: duplicates, spaces around fields, empty fields, ISO times and a last line without its line break (and, as
#: mixed_crlf.csv, with CRLF line breaks).
MIXED = (HEADER + "1,10,4.5,964982703\n 01 , 10 ,3,2000-07-30T18:45:03Z\n,11,4,964982703\nnull,11,4,964982703\n"
         "2,12,four,964982703\n2,13,0_5,964982703\n2,14,9,964982703\n2,15,4,yesterday\n2,16,4,-1\n"
         "2,17,4,2031-01-01\n1,10,4.5,964982703\n2,18,4,1_600_000_000\n3,10,,964982703\n3,11,5,964982800")


def _load(home: Path, path: Path, fast: bool, monkeypatch, caplog) -> tuple[dict, list[str]]:
    """Ingest ``path`` into a fresh home, by the line route unless ``fast``: the warehouse's rows, quarantine and
    manifest counts, and the routes the log names."""
    caplog.clear()
    with monkeypatch.context() as patch, caplog.at_level(logging.INFO, logger="recs.ingest"):
        if not fast:
            patch.setattr(TextScan, "plain", lambda self, quote: False)
        settings = load_settings(home=home)
        try:
            ingest_paths(settings, [path], as_of=AS_OF)
            error = None
        except IngestError as exc:
            error = str(exc)
    routes = [m.split("staged by ")[1].split(")")[0] for m in caplog.messages if "staged by" in m]
    with warehouse.connect(settings) as con:
        return {
            "error": error,
            "ratings": con.execute("select user_id, item_id, rating, rated_at, source_line from ratings "
                                   "order by source_line").fetchall(),
            "quarantine": con.execute("select line_number, column_name, reason, raw_value from quarantine "
                                      "order by line_number, reason").fetchall(),
            "counts": con.execute("select n_rows_read, n_rows_loaded, n_rows_quarantined "
                                  "from ingested_files").fetchall(),
        }, routes


def _text_corpus() -> list[str]:
    return sorted(p.name for p in BAD.glob("*.csv") if p.stat().st_size and p.name != "cut_off_upload.csv")


@pytest.mark.parametrize("name", ["mixed.csv", "mixed_crlf.csv", *_text_corpus()])
def test_both_routes_load_and_quarantine_every_file_alike(tmp_path, monkeypatch, caplog, name):
    source = tmp_path / name
    if name.startswith("mixed"):
        source.write_bytes((MIXED.replace("\n", "\r\n") if "crlf" in name else MIXED).encode())
    else:
        shutil.copyfile(BAD / name, source)
    os.utime(source, (time.time() - 3600, time.time() - 3600))  # complete: not a file still being written
    fast, fast_routes = _load(tmp_path / "fast", source, True, monkeypatch, caplog)
    lines, line_routes = _load(tmp_path / "lines", source, False, monkeypatch, caplog)
    assert fast == lines
    assert set(line_routes) <= {"lines"}
    if name.startswith("mixed"):  # the fixture exercises what it claims
        assert {reason for _, _, reason, _ in fast["quarantine"]} == {
            "missing_id", "non_numeric_rating", "rating_out_of_range", "bad_timestamp", "early_timestamp",
            "future_timestamp", "duplicate_row"}
        assert [row[4] for row in fast["ratings"]] == [2, 3, 15] and fast_routes == ["fields"]


def _route(caplog, settings, path) -> str:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="recs.ingest"):
        ingest_paths(settings, [path], as_of=AS_OF)
    return next(r.getMessage() for r in caplog.records if "staged by" in r.getMessage())


def test_plain_files_take_the_fast_route_and_the_others_the_line_route(settings, tmp_path, caplog):
    plain = tmp_path / "plain.csv"
    plain.write_text('"user_id","item_id","rating","timestamp"\n1,10,4,964982703\n')  # a quoted header is fine
    assert "staged by fields" in _route(caplog, settings, plain)
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(HEADER + '"1",10,4,964982703\n')
    assert "staged by lines" in _route(caplog, settings, quoted)


@pytest.mark.parametrize(("body", "why"), [
    ("1,10,4,964982703\n\n1,11,4,964982703\n", "read 3 rows from 4 lines"),   # DuckDB drops the empty line
    ("1,10,4,964982703\n1,11,4\n", "refused the file"),                       # a line with three fields
])
def test_the_fast_route_hands_a_file_it_misreads_to_the_line_route(settings, tmp_path, caplog, body, why):
    path = tmp_path / "a.csv"
    path.write_text(HEADER + body)
    message = _route(caplog, settings, path)
    assert "staged by lines" in message
    assert any(why in r.getMessage() for r in caplog.records)
    with warehouse.connect(settings) as con:
        assert con.execute("select source_line from ratings order by 1").fetchall() in ([(2,), (4,)], [(2,)])
        if "refused" in why:
            assert con.execute("select line_number, reason from quarantine").fetchall() == [(3, "wrong_field_count")]


def _scan(data: bytes, chunk: int) -> TextScan:
    scan = TextScan()
    for at in range(0, len(data), chunk):
        scan(data[at:at + chunk])
    return scan


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])  # pairs split across chunks are seen
@pytest.mark.parametrize(("data", "plain", "n_lines"), [
    (b'"a","b"\n1,2\n', True, 2),
    (b"a,b\r\n1,2\r\n", True, 2),
    (b"a,b\n1,2", True, 2),
    (b'a,b\n"1",2\n', False, 2),
    (b"a,b\r1,2\n", False, 1),   # a bare CR does not end a line here (the file is not plain)
    (b"a,b\n1,2\r", False, 2),
    (b"a,b\n1\x002\n", False, 2),
])
def test_text_scan_tells_plain_files_and_counts_lines(data, plain, n_lines, chunk):
    scan = _scan(data, chunk)
    assert (scan.plain('"'), scan.n_lines) == (plain, n_lines)


def test_text_scan_finds_the_line_of_the_first_nul_and_ignores_quotes_that_are_plain_text():
    scan = _scan(b'a,b\n"1",2\n3,\x004\n\x00\n', 3)
    assert scan.nul_line == 3 and not scan.plain('"') and not scan.plain("")
    assert _scan(b'a,b\n"1",2\n', 3).plain("")
