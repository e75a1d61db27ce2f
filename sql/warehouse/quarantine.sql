-- Rows that failed a check, with where they came from and why. Nothing read is ever dropped silently:
-- per file, n_rows_read = n_rows_loaded + n_rows_quarantined (see ingested_files).
create table if not exists quarantine (
    source_file    varchar not null,     -- resolved path, as ingested_files.file_path
    line_number    bigint,               -- 1-based line in the file as an editor shows it, header counted
                                         -- (row number for Parquet)
    column_name    varchar,              -- the offending column as named in the file, when one is to blame
    reason         varchar not null,     -- malformed_quotes, wrong_field_count, missing_id, inexact_float_id,
                                         -- non_numeric_rating, rating_out_of_range, bad_timestamp,
                                         -- early_timestamp, future_timestamp, duplicate_row, duplicate_item_id
                                         -- (see sql/staging/stg_*.sql). Items, exclusions and promotions use
                                         -- malformed_quotes, wrong_field_count, missing_id (a blank item id) and
                                         -- bad_timestamp (available_from / available_until, until, from neither
                                         -- blank nor an ISO-8601 date/time; column_name names it, raw_value is
                                         -- the value); items also duplicate_item_id. Repeated exclusion and
                                         -- promotion rows are not quarantined (a rule stated twice is one rule).
    raw_value      varchar,              -- the offending value or line, as read; for duplicate_row where the
                                         -- original is ('same as line 2', 'same as a rating already loaded')
    quarantined_at timestamp not null
)
