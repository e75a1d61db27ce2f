-- The lines of one delimited text file as lists of fields, in file order, NOT numbered here: numbering with
-- row_number() would make DuckDB read and parse the file on one thread. DuckDB reads the file as a single
-- VARCHAR column (no quote, NUL as the column delimiter, strict) so no line is merged, split or skipped, and
-- keeps file order (preserve_insertion_order): a table created from this view holds line n at rowid n - 1, which
-- is how stg_ratings numbers its rows; src_numbered_lines numbers them with row_number() (small files).
-- Empty lines keep their place but are not rows (DuckDB reads them as NULL: is_blank). On lines that contain the
-- quote character, fields are parsed with RFC 4180 quoting ('"a, b"', '""' inside); a quoted field cannot span
-- lines, and a line whose quotes do not parse gets n_fields = -1. Fields are stripped of surrounding spaces.
create or replace temp view ingest_lines as
with file_lines as (
    select line
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

split as (
    select
        line,
        case
            when {{ quote }} <> '' and contains(line, {{ quote }})
                then regexp_extract_all(line, {{ field_pattern }}, 1)
        end as quoted_fields
    from file_lines
),

parsed as (
    select
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
        cast(null as bigint) as source_line_number,   -- text: numbered from the order of the lines
        line is null as is_blank,
        coalesce(len(fields), -1) as n_fields,
        case when contains(line, ' ') then list_transform(fields, lambda f: trim(f)) else fields end as fields,
        line as raw_line
    from parsed
)

select * from final
