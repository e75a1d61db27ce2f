-- Rows that failed a check, with where they came from and why. Nothing read is ever dropped silently:
-- per file, n_rows_read = n_rows_loaded + n_rows_quarantined (see ingested_files).
create table if not exists quarantine (
    source_file    varchar not null,
    line_number    bigint,               -- 1-based line in the file (row number for Parquet)
    column_name    varchar,              -- the offending column, when one is to blame
    reason         varchar not null,
    raw_value      varchar,              -- the offending value or line, as read
    quarantined_at timestamp not null
)
