-- The rows of one Parquet file (the view parquet_file_rows) as lists of fields, in schema order, stripped of
-- surrounding spaces and numbered 1-based: the "line" of a Parquet row. Typing happens in stg_*.sql, the same
-- way as for text files, so both formats pass the same checks.
create or replace temp view ingest_lines as
with as_lists as (
    select
        file_row_number,
        [*columns(* exclude (file_row_number))] as fields
    from parquet_file_rows
),

final as (
    select
        file_row_number + 1 as source_line_number,
        false as is_blank,
        len(fields) as n_fields,
        list_transform(fields, lambda f: trim(f)) as fields,
        cast(null as varchar) as raw_line
    from as_lists
)

select * from final
