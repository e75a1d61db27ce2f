"""Ingest of business rules (exclusions, promotions) and of item availability windows, on a real warehouse."""

from datetime import datetime

import duckdb
import pandas as pd
import pytest

from jobs import warehouse
from jobs.ingest import IngestError, ingest_landing, ingest_paths
from jobs.ingest.files import KINDS
from jobs.sql import run_sql


def land(settings, kind, name, text):
    folder = settings.landing_dir / kind
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def query(settings, sql):
    with warehouse.connect(settings) as con:
        return con.execute(sql).fetchall()


def quarantined(settings):
    return query(settings, "select line_number, column_name, reason, raw_value from quarantine "
                           "order by source_file, line_number")


def assert_reconciles(settings):
    with warehouse.connect(settings) as con:
        assert run_sql(con, "staging/check_reconciles", {"files": None}).fetchall() == []


EXCLUSIONS = (
    "user_id,item_id,until\n"
    ",i1,\n"                          # every user, for ever
    "u1,i2,2027-01-01\n"              # one user, until a date
    "u2,i3,2027-01-01T12:00:00+02:00\n"  # an offset is converted to UTC
    "u3,i4,\n"                        # one user, for ever
    "u4,i5,next week\n"               # not a date: quarantined
    "u5,,2027-01-01\n"                # no item: quarantined
    "u1,i2,2027-01-01\n"              # a repeat: harmless, loads
)


def test_exclusions_load_global_and_per_user_rules_and_quarantine_bad_rows(settings):
    path = land(settings, "exclusions", "rules.csv", EXCLUSIONS)
    result = ingest_landing(settings)
    assert [(f.kind, f.file_format, f.n_rows_read, f.n_rows_loaded, f.n_rows_quarantined) for f in result.files] == [
        ("exclusions", "csv", 7, 5, 2)]
    assert query(settings, "select user_id, item_id, until_at, source_file, line_number from exclusions "
                           "order by line_number") == [
        (None, "i1", None, str(path), 2),
        ("u1", "i2", datetime(2027, 1, 1), str(path), 3),
        ("u2", "i3", datetime(2027, 1, 1, 10), str(path), 4),
        ("u3", "i4", None, str(path), 5),
        ("u1", "i2", datetime(2027, 1, 1), str(path), 8),
    ]
    assert quarantined(settings) == [(6, "until", "bad_timestamp", "next week"), (7, "item_id", "missing_id", "")]
    assert query(settings, "select file_kind, n_rows_read, n_rows_loaded, n_rows_quarantined from ingested_files") == [
        ("exclusions", 7, 5, 2)]
    assert_reconciles(settings)


def test_a_rule_file_ingested_twice_loads_once(settings):
    land(settings, "exclusions", "rules.csv", EXCLUSIONS)
    land(settings, "promotions", "promos.csv", "item_id,from,until\ni1,2026-12-01,2026-12-24\n")
    ingest_landing(settings)
    again = ingest_landing(settings)
    assert [(f.kind, f.skipped) for f in again.files] == [("exclusions", True), ("promotions", True)]
    assert query(settings, "select (select count(*) from exclusions), (select count(*) from promotions), "
                           "(select count(*) from quarantine)") == [(5, 1, 2)]
    with pytest.raises(IngestError, match="exactly once"):  # a changed file is refused, never reloaded
        land(settings, "exclusions", "rules.csv", EXCLUSIONS + "u9,i9,\n")
        ingest_paths(settings, [settings.landing_dir / "exclusions" / "rules.csv"], kind="exclusions")
    assert_reconciles(settings)


def test_promotions_with_open_and_closed_windows(settings):
    path = land(settings, "promotions", "promos.tsv", (
        "item_id\tuntil\tfrom\textra\n"       # any column order; extra columns are ignored
        "i1\t2026-12-24\t2026-12-01\tx\n"
        "i2\t\t2026-12-01T08:00:00Z\tx\n"     # open-ended
        "i3\t2027-01-31\t\tx\n"               # open from the start
        "i4\t2027-02-30\t\tx\n"               # no such day: quarantined
        "i5\t\tinfinity\tx\n"                 # not a date: quarantined
        "i6\t\t\n"                            # a field short: quarantined
    ))
    result = ingest_landing(settings)
    assert (result.files[0].file_format, result.n_rows_loaded, result.n_rows_quarantined) == ("tsv", 3, 3)
    assert query(settings, "select item_id, from_at, until_at, line_number from promotions order by 4") == [
        ("i1", datetime(2026, 12, 1), datetime(2026, 12, 24), 2),
        ("i2", datetime(2026, 12, 1, 8), None, 3),
        ("i3", None, datetime(2027, 1, 31), 4),
    ]
    assert quarantined(settings) == [(5, "until", "bad_timestamp", "2027-02-30"),
                                     (6, "from", "bad_timestamp", "infinity"),
                                     (7, None, "wrong_field_count", "i6\t\t")]
    assert query(settings, "select source_file from promotions limit 1") == [(str(path),)]
    assert_reconciles(settings)


def test_rule_columns_follow_the_configured_names_and_windows_are_optional(settings):
    settings = settings.with_overrides(ingest={"user_column": "customer", "item_column": "sku"})
    land(settings, "exclusions", "shop.csv", "SKU,Customer\np1,c1\np2,\n")  # names are case-insensitive
    land(settings, "promotions", "shop.csv", "sku\np3\n")
    ingest_landing(settings)
    assert query(settings, "select user_id, item_id, until_at from exclusions order by item_id") == [
        ("c1", "p1", None), (None, "p2", None)]
    assert query(settings, "select item_id, from_at, until_at from promotions") == [("p3", None, None)]
    bad = land(settings, "exclusions", "no_user.csv", "sku,until\np1,\n")
    with pytest.raises(IngestError, match="column 'customer': expected a required column 'customer'"):
        ingest_paths(settings, [bad], kind="exclusions")


def test_rule_files_need_a_header(settings):
    path = land(settings, "exclusions", "rules.dat", "u1::i1\n")
    with pytest.raises(IngestError, match=r"extensions \.csv, \.tsv, \.parquet"):
        ingest_paths(settings, [path], kind="exclusions")


def test_parquet_exclusions_with_float_ids_and_typed_times(settings):
    frame = pd.DataFrame({
        "user_id": [1.0, float("nan"), 2.0],  # pandas writes ids with gaps as floats; NaN: every user
        "item_id": [10.0, 11.0, None],
        "until": pd.to_datetime(["2027-01-01 10:00", None, "2027-01-02 00:00"]),
    })
    path = settings.landing_dir / "exclusions" / "rules.parquet"
    path.parent.mkdir(parents=True)
    frame.to_parquet(path, index=False)
    result = ingest_landing(settings)
    assert (result.files[0].file_format, result.n_rows_loaded, result.n_rows_quarantined) == ("parquet", 2, 1)
    assert query(settings, "select user_id, item_id, until_at, line_number from exclusions order by 4") == [
        ("1", "10", datetime(2027, 1, 1, 10), 1), (None, "11", None, 2)]
    assert query(settings, "select line_number, column_name, reason from quarantine") == [(3, "item_id", "missing_id")]
    assert_reconciles(settings)


def test_items_load_their_availability_window(settings):
    land(settings, "items", "items.csv", (
        "item_id,title,genres,available_from,available_until\n"
        "1,Heat,Crime,2026-01-01,2026-12-31T23:59:59Z\n"
        "2,Up,Animation,,\n"
        "3,Alien,Horror,2026-01-01,31/12/2026\n"   # not ISO: quarantined
        "4,Jaws,Thriller,soon,\n"
    ))
    land(settings, "items", "u.item", "|".join(["5", "Toy Story (1995)", "", "", "", *["0"] * 19]) + "\n")
    result = ingest_landing(settings)
    assert (result.n_rows_loaded, result.n_rows_quarantined) == (3, 2)
    assert query(settings, "select item_id, available_from, available_until from items order by 1") == [
        ("1", datetime(2026, 1, 1), datetime(2026, 12, 31, 23, 59, 59)),
        ("2", None, None),
        ("5", None, None),  # MovieLens item files have no window
    ]
    assert quarantined(settings) == [(4, "available_until", "bad_timestamp", "31/12/2026"),
                                     (5, "available_from", "bad_timestamp", "soon")]
    assert_reconciles(settings)


def test_landing_kinds_load_in_order_and_rating_counts_stay_ratings_only(settings):
    assert KINDS == ("ratings", "items", "exclusions", "promotions")
    land(settings, "promotions", "a.csv", "item_id\ni1\n")
    land(settings, "exclusions", "a.csv", "user_id,item_id\n,i1\nu1,\n")
    land(settings, "items", "a.csv", "item_id,title,genres\ni1,Heat,Crime\n")
    land(settings, "ratings", "a.csv", "user_id,item_id,rating,timestamp\nu1,i1,4,964982703\n")
    summary = ingest_landing(settings).to_dict()
    assert [f["kind"] for f in summary["new_files"]] == list(KINDS)
    assert (summary["n_rows_loaded"], summary["n_rows_quarantined"]) == (4, 1)
    assert (summary["n_ratings_loaded"], summary["n_ratings_quarantined"]) == (1, 0)
    assert_reconciles(settings)


def test_an_old_warehouse_gains_the_new_columns_and_tables(settings):
    path = settings.layout.warehouse
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))  # the items table as warehouses made before availability windows have it
    con.execute("create table items (item_id varchar primary key, title varchar, genres varchar, "
                "description varchar, source_file varchar not null)")
    con.execute("insert into items values ('1', 'Heat', 'Crime', null, 'old.csv')")
    warehouse.create_schema(con)
    warehouse.create_schema(con)  # a no-op once applied
    columns = [name for name, *_ in con.execute("describe items").fetchall()]
    assert columns == ["item_id", "title", "genres", "description", "source_file", "available_from",
                       "available_until"]
    assert con.execute("select count(*) from exclusions union all select count(*) from promotions").fetchall() == [
        (0,), (0,)]
    con.close()
    land(settings, "items", "new.csv", "item_id,title,genres,available_until\n1,Heat (1995),Crime,2027-01-01\n")
    ingest_landing(settings)
    assert query(settings, "select title, available_from, available_until from items") == [
        ("Heat (1995)", None, datetime(2027, 1, 1))]
    assert_reconciles(settings)


def test_reconciliation_catches_a_rule_row_gone_missing(settings):
    land(settings, "exclusions", "rules.csv", "user_id,item_id\nu1,i1\nu2,i2\n")
    ingest_landing(settings)
    with warehouse.connect(settings) as con:
        con.execute("delete from exclusions where item_id = 'i2'")
        bad = run_sql(con, "staging/check_reconciles", {"files": None}).fetchall()
    assert [row[1] for row in bad] == ["exclusions"]
