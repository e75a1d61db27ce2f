-- The rows of one Parquet file, every column cast to VARCHAR, numbered 0-based in file order (DuckDB's
-- file_row_number); parquet_lines.sql makes them lines. A file with a column of its own of that name goes
-- through src_parquet_table.sql and src_parquet_table_rows.sql instead.
create or replace temp view parquet_file_rows as
select
    file_row_number,
    columns(* exclude (file_row_number))::varchar
from read_parquet({{ path }}, file_row_number = true)
