-- A Parquet file that has a column of its own named file_row_number, where DuckDB's row numbering would go:
-- loaded whole into a temp table first (preserve_insertion_order keeps file order in rowid order).
create or replace temp table ingest_parquet as
select * from read_parquet({{ path }})
