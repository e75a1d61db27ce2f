-- A Parquet landing file's columns and types, read from its footer only.
select column_name, column_type from (describe select * from read_parquet($path))
