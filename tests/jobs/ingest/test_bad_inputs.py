"""Every kind of bad landing file (tests/jobs/ingest/bad_inputs/README.md): quarantined with line and reason, or refused whole."""

import os
import re
import shutil
import time
from datetime import datetime
from pathlib import Path

import pytest

from jobs import warehouse
from jobs.ingest import IngestError, ingest_landing, ingest_paths, landing_file
from jobs.ingest.formats import NulFinder
from jobs.sql import run_sql

BAD = Path(__file__).parent / "bad_inputs"
AS_OF = datetime(2024, 1, 1)


def land(settings, name, kind="ratings", text=None, fresh=False):
    """Put a corpus file (or ``text``) into landing/<kind>/ and return its path: as a file landed an hour ago
    unless ``fresh`` (one a writer may still be writing)."""
    folder = settings.landing_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if text is None:
        shutil.copyfile(BAD / name, target)
    else:
        target.write_text(text)
    if not fresh:
        os.utime(target, (time.time() - 3600, time.time() - 3600))
    return target


def query(settings, sql, params=None):
    with warehouse.connect(settings) as con:
        return con.execute(sql, params or {}).fetchall()


def quarantined(settings):
    """(line, column, reason, raw value) of every quarantined row, by file and line."""
    return query(settings, "select line_number, column_name, reason, raw_value from quarantine "
                           "order by source_file, line_number")


def loaded(settings):
    return query(settings, "select user_id, item_id, rating, rated_at, source_line from ratings order by source_line")


def assert_reconciles(settings):
    with warehouse.connect(settings) as con:
        assert run_sql(con, "staging/check_reconciles", {"files": None}).fetchall() == []
        assert con.execute("select count(*) from ingested_files where n_rows_read <> "
                           "n_rows_loaded + n_rows_quarantined").fetchone() == (0,)


def assert_nothing_recorded(settings):
    """No file, row or quarantined row of it in the warehouse."""
    assert query(settings, "select count(*) from ingested_files") == [(0,)]
    assert query(settings, "select count(*) from ratings") == [(0,)]
    assert query(settings, "select count(*) from quarantine") == [(0,)]


def set_aside(settings):
    """(file name, outcome, reason) of every landing file the warehouse records as not ingested."""
    return [(Path(p).name, o, r) for p, o, r in
            query(settings, "select file_path, outcome, reason from set_aside_files order by file_path")]


def ingest_error(settings, name, **kwargs) -> IngestError:
    """Land a file that cannot be ingested: the night sets it aside with its reason (loading nothing of it), and
    an operator's ``recs ingest`` of the same file fails with the same error."""
    path = land(settings, name, **kwargs)
    result = ingest_landing(settings, as_of=AS_OF)
    assert_nothing_recorded(settings)
    [error] = result.errors
    assert set_aside(settings) == [(name, "set_aside", str(error))]
    assert result.to_dict()["set_aside"] == [{"path": error.path, "kind": "ratings", "outcome": "set_aside",
                                              "reason": str(error)}]
    with pytest.raises(IngestError) as caught:
        ingest_paths(settings, [path], as_of=AS_OF)
    assert (caught.value.line, caught.value.column, caught.value.found) == (error.line, error.column, error.found)
    return error


def test_wrong_delimiter_is_refused_naming_the_separator(settings):
    err = ingest_error(settings, "wrong_delimiter.csv")
    assert (err.path, err.line) == ("landing/ratings/wrong_delimiter.csv", 1)
    assert "separated by ','" in err.expected and "';'" in err.found
    assert str(err).startswith("landing/ratings/wrong_delimiter.csv line 1: expected a header line")


def test_missing_required_column_is_refused_listing_the_columns_found(settings):
    err = ingest_error(settings, "missing_column.csv")
    assert (err.line, err.column) == (1, "rating")
    assert "'score_x'" in err.found and "'user_id'" in err.found
    assert "landing/ratings/missing_column.csv line 1, column 'rating': expected a required column 'rating'" in str(err)


def test_extra_columns_are_ignored_and_the_file_loads(settings):
    land(settings, "extra_columns.csv")
    result = ingest_landing(settings)
    assert (result.n_rows_read, result.n_rows_loaded, result.n_rows_quarantined) == (2, 2, 0)
    assert [r[:3] for r in loaded(settings)] == [("1", "10", 4.0), ("2", "20", 3.5)]
    assert_reconciles(settings)


def test_non_numeric_and_out_of_range_ratings_are_quarantined(settings):
    land(settings, "bad_ratings.csv")
    result = ingest_landing(settings)
    assert quarantined(settings) == [
        (2, "rating", "non_numeric_rating", "four"),
        (3, "rating", "rating_out_of_range", "7.5"),
        (4, "rating", "rating_out_of_range", "0"),
        (5, "rating", "non_numeric_rating", "NaN"),
        (6, "rating", "non_numeric_rating", ""),
    ]
    assert [(r[1], r[4]) for r in loaded(settings)] == [("15", 7)]
    assert (result.n_rows_read, result.n_rows_loaded, result.n_rows_quarantined) == (6, 1, 5)
    assert_reconciles(settings)


def test_empty_and_nan_ids_are_quarantined_and_ids_stay_text(settings):
    land(settings, "bad_ids.csv")
    ingest_landing(settings)
    assert quarantined(settings) == [
        (2, "user_id", "missing_id", ""),
        (3, "user_id", "missing_id", "NaN"),
        (4, "item_id", "missing_id", "nan"),
        (5, "item_id", "missing_id", ""),
    ]
    # ' 01 ' is stripped to '01', a different user from '1'
    assert [(r[0], r[1], r[4]) for r in loaded(settings)] == [("01", "12", 6), ("1", "12", 7)]
    assert_reconciles(settings)


def test_unparseable_and_future_timestamps_are_quarantined(settings):
    land(settings, "bad_timestamps.csv")
    ingest_landing(settings, as_of=AS_OF)
    assert quarantined(settings) == [
        (2, "timestamp", "bad_timestamp", "yesterday"),
        (3, "timestamp", "bad_timestamp", "2021-02-30T10:00:00"),
        (4, "timestamp", "future_timestamp", "2031-01-01T00:00:00Z"),
        (5, "timestamp", "future_timestamp", "1924992000"),
    ]
    # an offset is converted to UTC; unix seconds are UTC
    assert [(r[3], r[4]) for r in loaded(settings)] == [
        (datetime(2021, 6, 1, 10, 0), 6), (datetime(2021, 6, 1, 12, 0), 7)]
    assert_reconciles(settings)


@pytest.mark.parametrize(("as_of", "n_future"), [
    (None, 2),                            # no moment given: the moment of ingest (now, 2026 or later)
    (datetime(2030, 12, 31, 1, 0), 0),    # 2031-01-01 00:00 is within the 24 h tolerance
    (datetime(2030, 12, 30, 23, 0), 2),
])
def test_future_check_is_against_the_moment_of_ingest_and_honours_the_tolerance(settings, as_of, n_future):
    land(settings, "bad_timestamps.csv")
    ingest_landing(settings, as_of=as_of)
    reasons = [q[2] for q in quarantined(settings)]
    assert reasons == ["bad_timestamp", "bad_timestamp"] + ["future_timestamp"] * n_future


def test_duplicate_rows_are_quarantined_within_the_file_and_against_the_warehouse(settings):
    land(settings, "duplicates.csv")
    ingest_landing(settings)
    # lines 3 and 4 repeat line 2 exactly (ISO time and '4' are the same values); 5-7 differ and load
    assert quarantined(settings) == [
        (3, None, "duplicate_row", "same as line 2"),
        (4, None, "duplicate_row", "same as line 2"),
    ]
    assert [r[4] for r in loaded(settings)] == [2, 5, 6, 7]
    # the same rows in another file: all duplicates of loaded ratings
    land(settings, "again.csv", text=(BAD / "duplicates.csv").read_text())
    result = ingest_landing(settings)
    assert (result.n_files_new, result.n_rows_loaded, result.n_rows_quarantined) == (1, 0, 6)
    again = query(settings, "select line_number, reason, raw_value from quarantine "
                            "where source_file like '%again.csv' order by line_number")
    assert again[0] == (2, "duplicate_row", "same as a rating already loaded")
    assert [r[1] for r in again] == ["duplicate_row"] * 6
    assert_reconciles(settings)


def test_empty_file_is_refused(settings):
    err = ingest_error(settings, "empty.csv")
    assert err.path == "landing/ratings/empty.csv" and err.found == "an empty file (0 bytes)"


def test_header_only_file_loads_zero_rows_and_is_recorded(settings):
    land(settings, "header_only.csv")
    result = ingest_landing(settings)
    assert (result.n_files_new, result.n_rows_read) == (1, 0)
    assert query(settings, "select file_format, n_rows_read, n_rows_loaded, n_rows_quarantined from ingested_files") == [
        ("csv", 0, 0, 0)]
    assert ingest_landing(settings).files[0].skipped
    assert_reconciles(settings)


def test_truncated_parquet_is_refused(settings):
    err = ingest_error(settings, "truncated.parquet")
    assert err.path == "landing/ratings/truncated.parquet"
    assert err.expected == "a readable Parquet file" and err.found


def test_non_utf8_bytes_refuse_the_file_naming_the_line(settings):
    err = ingest_error(settings, "non_utf8.csv")
    assert (err.path, err.line) == ("landing/ratings/non_utf8.csv", 3)
    assert "UTF-8" in err.expected and "\\xe9" in err.found


def test_lines_with_the_wrong_number_of_fields_are_quarantined(settings):
    land(settings, "wrong_field_count.csv")
    ingest_landing(settings)
    assert quarantined(settings) == [
        (3, None, "wrong_field_count", "2,20,3.0"),
        (4, None, "wrong_field_count", "3,30,3.0,964982705,extra"),
    ]
    assert [r[4] for r in loaded(settings)] == [2, 5]
    assert_reconciles(settings)


def test_malformed_quotes_are_quarantined_and_quoted_fields_load(settings):
    land(settings, "malformed_quotes.csv")
    ingest_landing(settings)
    assert [(q[0], q[2]) for q in quarantined(settings)] == [(3, "malformed_quotes"), (4, "malformed_quotes")]
    assert [r[:3] + (r[4],) for r in loaded(settings)] == [("1", "10", 4.0, 2), ("4", "40", 2.5, 5)]
    assert_reconciles(settings)


def test_nul_byte_refuses_the_file_naming_the_line(settings):
    err = ingest_error(settings, "nul_byte.csv")
    assert (err.line, err.found) == (3, "a NUL byte (a binary or corrupt file?)")


def test_unknown_extension_is_refused(settings):
    err = ingest_error(settings, "ratings.txt")
    assert ".csv" in err.expected and "'.txt'" in err.found


@pytest.mark.parametrize(("name", "text", "found"), [
    ("u.data", "196,242,3,881250949\n", "1 field(s) in '196,242,3,881250949'"),
    ("ratings.dat", "1::1193::5\n", "3 field(s) in '1::1193::5'"),
])
def test_headerless_movielens_file_in_the_wrong_layout_is_refused(settings, name, text, found):
    err = ingest_error(settings, name, text=text)
    assert (err.line, err.found) == (1, found) and "MovieLens" in err.expected


def test_file_changed_after_ingest_is_refused_and_nothing_is_reloaded(settings):
    path = land(settings, "extra_columns.csv")
    ingest_landing(settings)
    before = loaded(settings)
    path.write_text(path.read_text().replace("4.0", "5.0"))  # same size, other content
    [err] = ingest_landing(settings).errors  # set aside, never merged; the night goes on
    assert err.path == "landing/ratings/extra_columns.csv" and "unchanged" in err.expected
    assert err.found.startswith("it changed: sha256 ")
    size = path.stat().st_size
    with path.open("a") as fh:
        fh.write("3,x,30,4.0,964982705,web\n")
    [err] = ingest_landing(settings).errors
    assert re.search(rf"it changed: size {size} -> {size + 25} bytes, sha256", str(err))
    assert [(name, outcome) for name, outcome, _ in set_aside(settings)] == [("extra_columns.csv", "set_aside")]
    with pytest.raises(IngestError, match="it changed"):
        ingest_paths(settings, [path])
    assert loaded(settings) == before
    assert_reconciles(settings)


def test_symlink_escaping_the_landing_folder_is_not_read(settings, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("user_id,item_id,rating,timestamp\n9,99,5.0,964982703\n")
    land(settings, "good.csv", text="user_id,item_id,rating,timestamp\n1,10,4.0,964982703\n")
    (settings.landing_dir / "ratings" / "link.csv").symlink_to(secret)
    [err] = ingest_landing(settings).errors
    assert err.path == "landing/ratings/link.csv" and "outside" in err.found
    assert [(name, outcome) for name, outcome, _ in set_aside(settings)] == [("link.csv", "set_aside")]
    # the good file still loaded; nothing of the secret did
    assert [r[0] for r in loaded(settings)] == ["1"]
    assert query(settings, "select count(*) from ingested_files where file_path like '%secret%'") == [(0,)]
    # the operator route may read it on purpose
    assert ingest_paths(settings, [secret]).n_rows_loaded == 1


def test_path_traversal_names_are_refused(settings, tmp_path):
    (tmp_path / "outside.csv").write_text("user_id,item_id,rating,timestamp\n9,99,5.0,964982703\n")
    (settings.landing_dir / "ratings").mkdir(parents=True)
    for name in ("../../outside.csv", "..", "sub/../../../outside.csv", "a\\..\\b.csv"):
        with pytest.raises(IngestError, match="path traversal"):
            landing_file(settings, "ratings", name)
    # a relative symlink that climbs out is refused too
    (settings.landing_dir / "ratings" / "up.csv").symlink_to("../../outside.csv")
    [err] = ingest_landing(settings).errors
    assert "outside" in str(err)
    assert_nothing_recorded(settings)


def test_reconciliation_check_reports_a_file_whose_counts_do_not_add_up(settings):
    land(settings, "bad_ratings.csv")
    ingest_landing(settings)
    assert_reconciles(settings)
    with warehouse.connect(settings) as con:
        con.execute("delete from quarantine where line_number = 2")  # a quarantined row lost
        bad = run_sql(con, "staging/check_reconciles", {"files": None}).fetchall()
        assert [(Path(r[0]).name, r[-1]) for r in bad] == [("bad_ratings.csv", 4)]
        con.execute("update ingested_files set n_rows_read = 7")  # counts that do not add up
        assert len(run_sql(con, "staging/check_reconciles", {"files": None}).fetchall()) == 1


# --- hardening: input that must not poison the warehouse, and files that must not stop the night ------------


def test_every_ingest_path_checks_timestamps_against_now_and_an_earliest_plausible_time(settings):
    """`recs ingest` (no run, no as_of) used to load year 5138 and year 290000, which pinned serving or killed
    every later run; epoch -1, year 1 and a cut-off 17952 (1970) loaded too."""
    path = land(settings, "timestamps_extreme.csv")
    ingest_paths(settings, [path])  # the operator's route, no moment given
    assert quarantined(settings) == [
        (2, "timestamp", "future_timestamp", "99999999999"),
        (3, "timestamp", "future_timestamp", "290000-01-01"),
        (4, "timestamp", "early_timestamp", "-1"),
        (5, "timestamp", "early_timestamp", "0001-01-01"),
        (6, "timestamp", "early_timestamp", "17952"),
    ]
    assert [(r[1], r[3]) for r in loaded(settings)] == [("15", datetime(2020, 9, 13, 12, 26, 40))]
    # The earliest plausible time is a setting.
    older = settings.with_overrides(ingest={"earliest_timestamp": "1960-01-01"})
    land(older, "later.csv", text="user_id,item_id,rating,timestamp\n2,10,4.0,17952\n")
    ingest_landing(older)
    assert ("10", datetime(1970, 1, 1, 4, 59, 12)) in [(r[1], r[3]) for r in loaded(settings)]
    assert_reconciles(settings)


def test_ratings_and_timestamps_must_be_plain_numbers(settings):
    """DuckDB reads '_' as a digit separator: '0_5' loaded as rating 5.0."""
    land(settings, "digit_separators.csv")
    ingest_landing(settings)
    assert quarantined(settings) == [(2, "rating", "non_numeric_rating", "0_5"),
                                     (3, "timestamp", "bad_timestamp", "1_600_000_000")]
    assert [(r[1], r[2]) for r in loaded(settings)] == [("12", 4.5)]


def test_parquet_float_ids_must_be_exact_whole_numbers(settings):
    """12345678901234567.0 and 12345678901234568.0 are one double: stored, they would be one id."""
    land(settings, "float_ids.parquet")
    ingest_landing(settings)
    assert quarantined(settings) == [
        (2, "user_id", "inexact_float_id", "1.2345678901234568e+16"),
        (3, "user_id", "inexact_float_id", "1.2345678901234568e+16"),
        (4, "user_id", "inexact_float_id", "2.5"),
        (5, "item_id", "missing_id", "nan"),
    ]
    assert [(r[0], r[1]) for r in loaded(settings)] == [("1", "10")]
    assert_reconciles(settings)


def test_cr_only_line_endings_get_a_clear_error_not_a_csv_traceback(settings):
    err = ingest_error(settings, "cr_line_endings.csv")
    assert err.line == 1 and "CR alone" in err.found and "LF or CRLF" in err.expected


@pytest.mark.parametrize(("text", "line", "found"), [
    ("user_id,item_id,rating,timestamp\r\n1,10,4,964982703\n", 2, "a LF line break where the lines before end in CRLF"),
    ("user_id,item_id,rating,timestamp\n1,10,4,964982703\r\n", 2, "a CRLF line break where the lines before end in LF"),
    ("user_id,item_id,rating,timestamp\n1,10,4,964982703\n2,1\r0,4,964982703\n", 3, "a CR inside the line"),
])
def test_mixed_line_breaks_are_an_ingest_error_naming_the_line_and_the_night_goes_on(settings, text, line, found):
    """DuckDB refuses them as 'an invalid state' without a line; that error used to escape and stop the ingest."""
    err = ingest_error(settings, "mixed.csv", text=text)
    assert err.line == line and err.found.startswith(found) and "LF or CRLF" in err.expected
    land(settings, "good.csv", text="user_id,item_id,rating,timestamp\n1,10,4,964982703\n")
    result = ingest_landing(settings, as_of=AS_OF)
    assert result.n_rows_loaded == 1 and [e.line for e in result.errors] == [line]


def test_a_parquet_column_named_file_row_number_is_an_extra_column(settings):
    """DuckDB numbers Parquet rows in a virtual column of that name; a file with its own used to fail binding."""
    land(settings, "file_row_number.parquet")
    result = ingest_landing(settings)
    assert not result.errors and [(r[1], r[2], r[4]) for r in loaded(settings)] == [("10", 4.0, 1), ("11", 3.0, 2)]
    assert_reconciles(settings)


def test_a_line_over_2_mib_names_its_line_and_the_limit(settings):
    long_line = "1," + "x" * (3 * 2**20) + ",4.0,1600000000\n"
    err = ingest_error(settings, "long.csv", text=f"user_id,item_id,rating,timestamp\n1,10,4.0,1600000000\n{long_line}")
    assert err.line == 3 and err.expected == "lines of at most 2 MiB"


def test_a_line_of_nul_bytes_is_not_dropped_uncounted(settings):
    """DuckDB read it as a blank line: 2 of 3 lines read, and nobody told."""
    err = ingest_error(settings, "nul_line.csv")
    assert err.line == 3 and "NUL" in err.found


def test_a_file_still_being_written_is_deferred_then_loads_whole(settings):
    """A half-uploaded file used to load its cut-off last line (5,7,4,17952: a 1970 rating), then fail every
    night once the upload completed."""
    path = land(settings, "cut_off_upload.csv", fresh=True)
    result = ingest_landing(settings)
    assert result.set_aside[0]["outcome"] == "deferred" and "line break" in result.set_aside[0]["reason"]
    assert set_aside(settings)[0][:2] == ("cut_off_upload.csv", "deferred")
    assert_nothing_recorded(settings)
    with path.open("a") as fh:  # the upload completes
        fh.write("00000\n5,8,3,1600000000\n")
    result = ingest_landing(settings)
    assert not result.errors and result.n_rows_loaded == 3 and set_aside(settings) == []
    assert sorted(r[3] for r in loaded(settings))[0] == datetime(2020, 9, 13, 12, 26, 40)
    # Old enough, a file without its last line break is complete: it loads.
    old = land(settings, "no_final_newline.csv", text="user_id,item_id,rating,timestamp\n6,1,4,1600000000")
    assert old.read_bytes()[-1:] != b"\n" and ingest_landing(settings).n_rows_loaded == 1


def test_an_empty_file_is_deferred_while_fresh_and_set_aside_once_old(settings):
    path = land(settings, "empty.csv", fresh=True)
    assert ingest_landing(settings).set_aside[0]["outcome"] == "deferred"
    os.utime(path, (0, 0))
    assert ingest_landing(settings).set_aside[0]["outcome"] == "set_aside"
    assert set_aside(settings)[0][:2] == ("empty.csv", "set_aside")


@pytest.mark.parametrize("chunk", [1, 3, 1 << 20])
def test_the_nul_finder_names_the_line_of_the_first_nul_whatever_the_chunks(tmp_path, chunk):
    data = b"a,b\n1,2\n3,\x004\n\x00\n"
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    finder = NulFinder()
    for at in range(0, len(data), chunk):
        finder(data[at:at + chunk])
    assert (finder.first_nul, finder.line(path)) == (10, 3)
    clean = NulFinder()
    clean(b"a,b\n1,2\n")
    assert clean.line(path) is None
