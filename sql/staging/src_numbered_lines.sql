-- The rows of ingest_lines (see src_*.sql) numbered as an editor shows them (1-based, header counted): Parquet
-- rows carry their number; text lines are numbered by row_number() over the scan, which keeps file order (one
-- thread: used for item files, which are small; stg_ratings numbers rating lines in parallel instead). Empty
-- lines keep their number but are not rows.
create or replace temp view ingest_source as
with numbered as (
    select
        coalesce(source_line_number, row_number() over ()) as line_number,
        is_blank,
        n_fields,
        fields,
        raw_line
    from ingest_lines
),

final as (
    select line_number, n_fields, fields, raw_line
    from numbered
    where not is_blank
)

select * from final
