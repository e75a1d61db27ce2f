"""Every kind of bad landing file (tests/jobs/ingest/bad_inputs/README.md): quarantined with line and reason, or refused whole."""

import shutil
from datetime import datetime
from pathlib import Path

import pytest

from jobs import warehouse
from jobs.ingest import IngestError, ingest_landing, ingest_paths, landing_file
from jobs.sql import run_sql

BAD = Path(__file__).parent / "bad_inputs"
AS_OF = datetime(2024, 1, 1)


def land(settings, name, kind="ratings", text=None):
    """Put a corpus file (or ``text``) into landing/<kind>/ and return its path."""
    folder = settings.landing_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if text is None:
        shutil.copyfile(BAD / name, target)
    else:
        target.write_text(text)
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
    assert query(settings, "select count(*) from ingested_files") == [(0,)]
    assert query(settings, "select count(*) from ratings") == [(0,)]
    assert query(settings, "select count(*) from quarantine") == [(0,)]


def ingest_error(settings, name, **kwargs) -> IngestError:
    land(settings, name, **kwargs)
    with pytest.raises(IngestError) as caught:
        ingest_landing(settings, as_of=AS_OF)
    assert_nothing_recorded(settings)
    return caught.value


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
    (None, 0),                            # no run date: no future check
    (datetime(2030, 12, 31, 1, 0), 0),    # 2031-01-01 00:00 is within the 24 h tolerance
    (datetime(2030, 12, 30, 23, 0), 2),
])
def test_future_check_needs_as_of_and_honours_the_tolerance(settings, as_of, n_future):
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
    with pytest.raises(IngestError) as caught:
        ingest_landing(settings)
    err = caught.value
    assert err.path == "landing/ratings/extra_columns.csv" and "unchanged" in err.expected
    assert err.found.startswith("it changed: sha256 ")
    size = path.stat().st_size
    with path.open("a") as fh:
        fh.write("3,x,30,4.0,964982705,web\n")
    with pytest.raises(IngestError, match=rf"it changed: size {size} -> {size + 25} bytes, sha256"):
        ingest_landing(settings)
    assert loaded(settings) == before
    assert_reconciles(settings)


def test_symlink_escaping_the_landing_folder_is_not_read(settings, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("user_id,item_id,rating,timestamp\n9,99,5.0,964982703\n")
    land(settings, "good.csv", text="user_id,item_id,rating,timestamp\n1,10,4.0,964982703\n")
    (settings.landing_dir / "ratings" / "link.csv").symlink_to(secret)
    with pytest.raises(IngestError) as caught:
        ingest_landing(settings)
    err = caught.value
    assert err.path == "landing/ratings/link.csv" and "outside" in err.found
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
    with pytest.raises(IngestError, match="outside"):
        ingest_landing(settings)
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
