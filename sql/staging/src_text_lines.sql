-- The lines of one delimited text file as lists of fields, numbered as an editor shows them (1-based, header
-- counted). DuckDB reads the file as a single VARCHAR column (no quote, NUL as the column delimiter, strict) so
-- no line is merged, split or skipped, and row_number() over the scan, which keeps file order, is the line
-- number. Empty lines keep their number but are not rows (DuckDB reads them as NULL). On lines that contain the quote character, fields
-- are parsed with RFC 4180 quoting ('"a, b"', '""' inside); a quoted field cannot span lines, and a line
-- whose quotes do not parse gets n_fields = -1. Fields are stripped of surrounding spaces.
create or replace temp view ingest_source as
with file_lines as (
    select
        row_number() over () as line_number,
        line
    from read_csv(
        {{ path }},
        columns = {'line': 'VARCHAR'},
        header = false,
        delim = chr(0),
        quote = '',
        escape = '',
        auto_detect = false,
        strict_mode = true,
        encoding = {{ encoding }},
        max_line_size = 2097152,   -- 2 MiB, DuckDB's default; a longer line is an error
        buffer_size = 8388608      -- 8 MiB (default: 16 lines' worth) so a low memory_limit still fits the buffers
    )
),

data_lines as (
    select line_number, line
    from file_lines
    where line is not null
),

split as (
    select
        line_number,
        line,
        case
            when {{ quote }} <> '' and contains(line, {{ quote }})
                then regexp_extract_all(line, {{ field_pattern }}, 1)
        end as quoted_fields
    from data_lines
),

parsed as (
    select
        line_number,
        line,
        case
            when quoted_fields is null then string_split(line, {{ delimiter }})
            -- the quoted fields must make up the whole line; if not, a quote is misplaced: fields = null
            when length(array_to_string(quoted_fields, {{ delimiter }})) = length(line)
                then list_transform(
                    quoted_fields,
                    lambda f: case
                        when len(f) >= 2 and starts_with(f, '"') and ends_with(f, '"')
                            then replace(f[2:-2], '""', '"')
                        else f
                    end
                )
        end as fields
    from split
),

final as (
    select
        line_number,
        coalesce(len(fields), -1) as n_fields,
        case when contains(line, ' ') then list_transform(fields, lambda f: trim(f)) else fields end as fields,
        line as raw_line
    from parsed
)

select * from final
