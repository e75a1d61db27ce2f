-- The lines of one PLAIN delimited text file (jobs/ingest/scan.py: no quote character after the first line, no
-- empty line, CRLF or LF line breaks) as lists of fields, in file order, NOT numbered here: the fast route that
-- replaces src_text_lines.sql for such files, with the same columns and the same meaning. DuckDB's CSV reader
-- splits the fields itself (no per-line string_split), strict: a line with more or fewer fields than the header
-- is an error, and the caller then stages the file by src_text_lines.sql, which names the line. Every line,
-- the header included, is one row, so a table created from this view holds line n at rowid n - 1 as there.
-- Empty fields read as '' (no NUL is in the file, so no field equals the null string), and fields are stripped
-- of surrounding spaces as src_text_lines.sql strips them.
create or replace temp view ingest_lines as
with file_fields as (
    select *
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
        list_transform(
            [*columns(*)],
            lambda f: case when contains(f, ' ') then trim(f) else f end
        ) as fields,
        cast(null as varchar) as raw_line
    from file_fields
)

select * from final
