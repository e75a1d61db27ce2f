"""Ingest: every supported format, exactly-once, line numbers, atomic per file, bounded memory."""

import json
import logging
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from jobs import warehouse
from jobs.faults import CRASH_ENV
from jobs.ingest import IngestError, ingest_landing, ingest_paths
from jobs.sql import run_sql

HEADER = "user_id,item_id,rating,timestamp\n"


def land(settings, name, data, kind="ratings"):
    folder = settings.landing_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)
    return path


def query(settings, sql):
    with warehouse.connect(settings) as con:
        return con.execute(sql).fetchall()


def ratings(settings):
    return query(settings, "select user_id, item_id, rating, rated_at, source_line from ratings "
                           "order by source_file, source_line")


def table_counts(settings):
    return query(settings, "select (select count(*) from ratings), (select count(*) from quarantine), "
                           "(select count(*) from items), (select count(*) from ingested_files)")[0]


def assert_reconciles(settings):
    with warehouse.connect(settings) as con:
        assert run_sql(con, "staging/check_reconciles", {"files": None}).fetchall() == []


def test_csv_rows_are_typed_and_keep_the_line_an_editor_shows(settings):
    # CRLF, a blank line (counted, not a row), a quoted field, spaces, ISO and unix times, '01' vs '1'
    land(settings, "day1.csv", (HEADER + '1,10,4.5,964982703\n\n"01", 10 ,3,2000-07-30T18:45:03Z\n'
                                "1,11,5,2000-07-30 20:45:03+02:00\n").replace("\n", "\r\n"))
    result = ingest_landing(settings)
    assert result.files[0].file_format == "csv" and not result.files[0].skipped
    t = datetime(2000, 7, 30, 18, 45, 3)
    assert ratings(settings) == [("1", "10", 4.5, t, 2), ("01", "10", 3.0, t, 4), ("1", "11", 5.0, t, 5)]
    assert query(settings, "select file_path, file_kind, size_bytes, length(sha256) from ingested_files") == [
        (str(settings.landing_dir / "ratings" / "day1.csv"), "ratings",
         (settings.landing_dir / "ratings" / "day1.csv").stat().st_size, 64)]
    assert_reconciles(settings)


def test_reingesting_unchanged_files_is_a_no_op(settings):
    land(settings, "a.csv", HEADER + "1,10,4,964982703\n1,10,9,964982703\n")
    land(settings, "items.csv", "item_id,title,genres\n10,Heat (1995),Action|Crime\n", kind="items")
    first = ingest_landing(settings)
    assert (first.n_files_new, first.n_rows_read, first.n_rows_loaded, first.n_rows_quarantined) == (2, 3, 2, 1)
    counts = table_counts(settings)
    again = ingest_landing(settings)
    assert [f.skipped for f in again.files] == [True, True]
    assert again.to_dict()["n_files_new"] == 0 and again.n_rows_read == 0
    assert table_counts(settings) == counts == (1, 1, 1, 2)
    assert_reconciles(settings)


@pytest.mark.parametrize(("name", "text", "file_format"), [
    ("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n", "movielens_udata"),
    ("ratings.dat", "1::1193::5::978300760\n1::661::3::978302109\n", "movielens_dat"),
    ("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,964981247\n", "csv"),
    ("ratings.tsv", "user_id\titem_id\trating\ttimestamp\n1\t1\t4.0\t964982703\n1\t3\t4.0\t964981247\n", "tsv"),
])
def test_movielens_and_delimited_rating_formats(settings, name, text, file_format):
    land(settings, name, text)
    result = ingest_landing(settings)
    assert result.files[0].file_format == file_format
    first_line = 1 if file_format.startswith("movielens") else 2
    expected = [line.replace("::", "\t").replace(",", "\t").split("\t") for line in text.splitlines()[first_line - 1:]]
    assert [(u, i, r, int(t.timestamp()), n) for u, i, r, t, n in ratings(settings)] == [
        (u, i, float(r), int(ts), n) for n, (u, i, r, ts) in enumerate(expected, start=first_line)]
    assert_reconciles(settings)


def test_configured_column_names(settings):
    settings = settings.with_overrides(ingest={"user_column": "customer", "item_column": "sku",
                                               "rating_column": "stars", "timestamp_column": "at"})
    land(settings, "shop.csv", "at,sku,customer,stars\n2021-01-01,p1,c1,4\n")
    ingest_landing(settings)
    assert ratings(settings) == [("c1", "p1", 4.0, datetime(2021, 1, 1), 2)]
    path = land(settings, "bad.csv", "at,sku,stars\n2021-01-01,p1,4\n")
    with pytest.raises(IngestError, match="column 'customer': expected a required column 'customer'"):
        ingest_paths(settings, [path])


def test_parquet_ratings_with_typed_columns(settings):
    frame = pd.DataFrame({
        "user_id": [1.0, 2.0, float("nan"), 1.0],  # pandas writes ids with gaps as floats (NaN as null)
        "item_id": ["10", "20", "30", "11"],
        "rating": [4.0, 3.5, 2.0, 9.0],
        "timestamp": pd.to_datetime(["2021-01-01 10:00", "2021-01-02 00:00", "2021-01-03 00:00", "2021-01-04 00:00"]),
        "extra": [1, 2, 3, 4],
    })
    frame.to_parquet(land(settings, "day.parquet", b""), index=False)
    result = ingest_landing(settings)
    assert result.files[0].file_format == "parquet"
    assert ratings(settings) == [("1", "10", 4.0, datetime(2021, 1, 1, 10), 1), ("2", "20", 3.5, datetime(2021, 1, 2), 2)]
    assert query(settings, "select line_number, column_name, reason, raw_value from quarantine order by 1") == [
        (3, "user_id", "missing_id", None), (4, "rating", "rating_out_of_range", "9.0")]
    assert_reconciles(settings)


def test_quarantined_values_come_back_exactly_even_with_the_staging_separator_in_them(settings):
    """stg_rating_lines.sql keeps a failure in one column joined by chr(31): a raw value holding it, an empty one
    and a missing one (no column to blame) must come back as read."""
    land(settings, "a.csv", HEADER + "1,10,4\x1f5,964982703\n,10,4,964982703\n1,10,4\n")
    ingest_landing(settings)
    assert query(settings, "select line_number, column_name, reason, raw_value from quarantine order by 1") == [
        (2, "rating", "non_numeric_rating", "4\x1f5"), (3, "user_id", "missing_id", ""),
        (4, None, "wrong_field_count", "1,10,4")]


def test_parquet_rows_keep_their_row_numbers_across_row_groups(settings):
    """Rows are numbered by their place in the staging table (file order), which must be file_row_number + 1 even
    when DuckDB reads many row groups on every core: user 'u<row>' and a bad rating every 997th row tell."""
    path = land(settings, "big.parquet", b"")
    duckdb.execute(
        f"copy (select 'u' || (i + 1) as user_id, 'i' || (i % 500) as item_id, "
        f"case when i % 997 = 0 then 9 else 4 end as rating, 1000000000 + i as timestamp from range(300000) t(i)) "
        f"to '{path}' (format parquet, row_group_size 10000)"
    )
    result = ingest_landing(settings)
    assert (result.n_rows_loaded, result.n_rows_quarantined) == (300000 - 301, 301)
    assert query(settings, "select count(*) from ratings where user_id <> 'u' || source_line") == [(0,)]
    assert query(settings, "select count(*) from quarantine where (line_number - 1) % 997 <> 0 "
                           "or raw_value <> '9'") == [(0,)]
    assert_reconciles(settings)


def test_item_formats(settings):
    flags = ["0"] * 19
    flags[1] = flags[17] = "1"  # Action, War
    u_item = "|".join(["1", "Café (1995)", "01-Jan-1995", "", "http://x", *flags]) + "\n"
    land(settings, "u.item", u_item.encode("latin-1"), kind="items")
    land(settings, "movies.dat", "2::Les Misérables (1995)::Drama\n".encode("latin-1"), kind="items")  # as in ML-1M
    land(settings, "movies.csv", 'movieId,title,genres\n3,"American President, The (1995)",Comedy|Drama\n'
                                 '4,"Say ""Hi"" (2001)",(no genres listed)\n', kind="items")
    land(settings, "x_items.csv", "item_id,title,genres,description\n5,Heat,Crime,A heist.\n,No id,Drama,\n"
                                  "5,Heat (1995),Action|Crime,Two men.\n", kind="items")
    pd.DataFrame({"item_id": [6], "title": ["Up"], "genres": ["Animation"]}).to_parquet(
        land(settings, "y_items.parquet", b"", kind="items"))
    result = ingest_landing(settings)
    assert {f.path.split("/")[-1]: f.file_format for f in result.files} == {
        "u.item": "movielens_item", "movies.dat": "movielens_movies_dat", "movies.csv": "csv",
        "x_items.csv": "csv", "y_items.parquet": "parquet"}
    assert query(settings, "select item_id, title, genres, description from items order by item_id") == [
        ("1", "Café (1995)", "Action|War", None),
        ("2", "Les Misérables (1995)", "Drama", None),
        ("3", "American President, The (1995)", "Comedy|Drama", None),
        ("4", 'Say "Hi" (2001)', "(no genres listed)", None),
        ("5", "Heat (1995)", "Action|Crime", "Two men."),  # the last line for an item wins
        ("6", "Up", "Animation", None),
    ]
    assert query(settings, "select line_number, column_name, reason from quarantine order by 1") == [
        (2, "item_id", "duplicate_item_id"), (3, "item_id", "missing_id")]
    # a later file wins over an earlier one
    land(settings, "z_items.csv", "item_id,title,genres\n1,Café (1996),Drama\n", kind="items")
    ingest_landing(settings)
    assert query(settings, "select title, genres from items where item_id = '1'") == [("Café (1996)", "Drama")]
    assert_reconciles(settings)


def test_ingest_paths_reads_operator_files_from_anywhere_once(settings, tmp_path):
    outside = tmp_path / "export" / "ratings.csv"
    outside.parent.mkdir()
    outside.write_text(HEADER + "1,10,4,964982703\n")
    alias = tmp_path / "alias.csv"
    alias.symlink_to(outside)
    result = ingest_paths(settings, [str(outside)])
    assert (result.n_files_new, result.n_rows_loaded) == (1, 1)
    # the manifest key is the resolved path: the same file through a link is already ingested
    assert ingest_paths(settings, [alias]).files[0].skipped
    with pytest.raises(IngestError, match="expected a regular file, found nothing"):
        ingest_paths(settings, [tmp_path / "missing.csv"])
    with pytest.raises(ValueError, match="kind"):
        ingest_paths(settings, [outside], kind="users")


def test_a_failed_file_does_not_stop_the_others(settings):
    bad = [land(settings, "a_bad.csv", "user;item;rating;timestamp\n1;2;3;4\n"), land(settings, "b_bad.csv", "")]
    land(settings, "c_good.csv", HEADER + "1,10,4,964982703\n")
    os.utime(bad[1], (0, 0))  # an old empty file: not one being written, a bad one
    result = ingest_landing(settings)  # the night goes on: the bad files are set aside, not raised
    assert [(e.path, e.line) for e in result.errors] == [("landing/ratings/a_bad.csv", 1), ("landing/ratings/b_bad.csv", None)]
    assert [(f.path, f.n_rows_loaded) for f in result.files] == [("landing/ratings/c_good.csv", 1)]
    assert query(settings, "select count(*) from ratings") == [(1,)]
    # An operator's own ingest of the same files stops with the first error, naming the others.
    with pytest.raises(IngestError) as caught:
        ingest_paths(settings, [*bad, settings.landing_dir / "ratings" / "c_good.csv"])
    err = caught.value
    assert err.path.endswith("a_bad.csv") and [Path(e.path).name for e in err.others] == ["b_bad.csv"]
    assert "and 1 more failed file(s)" in str(err) and err.result.files[0].skipped


def test_result_to_dict_is_small_json(settings):
    land(settings, "a.csv", HEADER + "1,10,4,964982703\n1,11,x,964982703\n")
    summary = json.loads(json.dumps(ingest_landing(settings).to_dict()))
    assert {k: summary[k] for k in ("n_files_new", "n_rows_read", "n_rows_loaded", "n_rows_quarantined")} == {
        "n_files_new": 1, "n_rows_read": 2, "n_rows_loaded": 1, "n_rows_quarantined": 1}
    assert summary["new_files"][0]["path"] == "landing/ratings/a.csv"


def test_one_log_line_per_file_with_counts(settings, caplog):
    land(settings, "a.csv", HEADER + "1,10,4,964982703\n1,11,x,964982703\n")
    with caplog.at_level(logging.INFO, logger="recs.ingest"):
        ingest_landing(settings)
        ingest_landing(settings)
    lines = [r.getMessage() for r in caplog.records if r.name == "recs.ingest" and "landing/ratings/a.csv" in r.getMessage()]
    assert len(lines) == 2
    assert "2 rows read, 1 loaded, 1 quarantined" in lines[0] and "skipped" in lines[1]


def test_a_crash_mid_file_leaves_nothing_half_loaded(settings):
    path = land(settings, "a.csv", HEADER + "1,10,4,964982703\n1,11,x,964982703\n")
    code = (f"from jobs.config import load_settings; from jobs.ingest import ingest_landing; "
            f"ingest_landing(load_settings(home={str(settings.home)!r}))")
    env = {**os.environ, CRASH_ENV: "ingest:before_commit"}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr
    assert table_counts(settings) == (0, 0, 0, 0)
    result = ingest_landing(settings)  # the file is still new, and loads whole
    assert (result.n_files_new, result.n_rows_loaded, result.n_rows_quarantined) == (1, 1, 1)
    assert path.exists()
    assert_reconciles(settings)


def _write_big_csv(path, n_rows):
    """user_id encodes the line: user 'u<line>'; the timestamp also (1e9 + line)."""
    duckdb.execute(
        f"copy (select 'u' || (i + 2) as user_id, 'item_' || (i * 7 % 27000) as item_id, (i % 10) / 2 + 0.5 as rating, "
        f"1000000000 + i + 2 as timestamp from range({n_rows}) t(i)) to '{path}' (header)"
    )


@pytest.mark.slow
def test_a_file_larger_than_the_memory_limit_loads_with_exact_line_numbers(settings, tmp_path):
    big = tmp_path / "big.csv"
    _write_big_csv(big, 2_000_000)
    assert big.stat().st_size > 64 * 2**20
    with warehouse.connect(settings) as con:
        con.execute("set memory_limit = '64MB'")
        result = ingest_paths(settings, [big], con=con)
        assert (result.n_rows_read, result.n_rows_loaded) == (2_000_000, 2_000_000)
        assert con.execute("select count(*) from ratings where user_id <> 'u' || source_line "
                           "or epoch(rated_at) <> 1000000000 + source_line").fetchone() == (0,)
    assert_reconciles(settings)
