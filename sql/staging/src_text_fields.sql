-- The rating fields of each line of one PLAIN delimited text file (jobs/ingest/scan.py: no quote character after
-- the first line, LF or CRLF line breaks) by role, in file order, NOT numbered here: the fast route that makes the
-- view src_rating_fields.sql makes, with the same columns and meaning, without splitting lines into lists. DuckDB's
-- CSV reader splits the fields itself, strict: a line with more or fewer fields than the header is an error, and
-- the caller then stages the file by src_text_lines.sql, which names the line; so does a row count that differs
-- from the file's line count (DuckDB drops empty lines). Every line, the header included, is one row, so a table
-- created from this view holds line n at rowid n - 1, as on the line route. Empty fields read as '' (no NUL is in
-- the file, so no field equals the null string); fields are stripped of surrounding spaces as there.
create or replace temp view ingest_rating_fields as
with file_fields as (
    select {{ user_field }} as user_raw, {{ item_field }} as item_raw, {{ rating_field }} as rating_raw,
        {{ timestamp_field }} as timestamp_raw
    from read_csv(
        {{ path }},
        columns = {{ columns }},
        header = false,
        delim = {{ delimiter }},
        quote = '',
        escape = '',
        nullstr = chr(0),
        auto_detect = false,
        strict_mode = true,
        encoding = {{ encoding }},
        max_line_size = 2097152,   -- 2 MiB, as src_text_lines.sql
        buffer_size = 8388608      -- 8 MiB, as src_text_lines.sql
    )
),

final as (
    select
        cast(null as bigint) as source_line_number,
        false as is_blank,
        {{ n_fields }} as n_fields,
        cast(null as varchar) as bad_line,
        case when contains(user_raw, ' ') then trim(user_raw) else user_raw end as user_raw,
        case when contains(item_raw, ' ') then trim(item_raw) else item_raw end as item_raw,
        case when contains(rating_raw, ' ') then trim(rating_raw) else rating_raw end as rating_raw,
        case when contains(timestamp_raw, ' ') then trim(timestamp_raw) else timestamp_raw end as timestamp_raw
    from file_fields
)

select * from final
