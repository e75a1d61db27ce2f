-- The rows of ingest_parquet (src_parquet_table.sql), every column cast to VARCHAR, numbered 0-based in file
-- order (rowid keeps insertion order, though its values need not start at 0): the same shape as
-- src_parquet_rows.sql, the file's own file_row_number among the columns (DuckDB names it file_row_number_1).
create or replace temp view parquet_file_rows as
select
    row_number() over (order by rowid) - 1 as file_row_number,
    columns(*)::varchar
from ingest_parquet
