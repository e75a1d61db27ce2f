-- The rating fields of each line of ingest_lines (src_text_lines.sql or parquet_lines.sql) by role, in file
-- order: what stg_rating_lines.sql types and checks. bad_line is the line as read, kept only for a line whose
-- fields do not parse or are not as many as the header's (its raw_value in quarantine). src_text_fields.sql makes the same view
-- straight from DuckDB's CSV reader for a plain text file.
create or replace temp view ingest_rating_fields as
select
    source_line_number,
    is_blank,
    n_fields,
    case
        when n_fields <> {{ n_fields }} then coalesce(raw_line, array_to_string(fields, ','))
    end as bad_line,
    fields[{{ user_pos }}] as user_raw,
    fields[{{ item_pos }}] as item_raw,
    fields[{{ rating_pos }}] as rating_raw,
    fields[{{ timestamp_pos }}] as timestamp_raw
from ingest_lines
