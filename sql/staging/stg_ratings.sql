-- The rating rows of one landing file, numbered as an editor shows them (1-based, header counted): the lines of
-- stg_rating_lines (typed and checked there) with their line numbers and failures (reason, column_name, raw_value:
-- split from the one column that table keeps), without the header and empty lines. A line, or a Parquet row, is
-- numbered by its place in the table, which keeps file order (preserve_insertion_order): line n is the n-th row
-- (rowid n - 1 counted from the table's first rowid, which is not 0 inside a transaction).
create or replace temp view stg_ratings as
with first_row as (
    select min(rowid) as first_rowid
    from stg_rating_lines
),

numbered as (
    select
        rowid - first_row.first_rowid + 1 as line_number,
        user_id,
        item_id,
        rating,
        rated_at,
        failure
    from stg_rating_lines
    cross join first_row
),

final as (
    select
        line_number,
        user_id,
        item_id,
        rating,
        rated_at,
        case when failure is not null then split_part(failure, chr(31), 1) end as reason,
        case when failure is not null then nullif(split_part(failure, chr(31), 2), '') end as column_name,
        case
            when regexp_matches(failure, '^[^\x1f]*\x1f[^\x1f]*\x1f')
                then regexp_extract(failure, '(?s)^[^\x1f]*\x1f[^\x1f]*\x1f(.*)$', 1)
        end as raw_value
    from numbered
    where (failure is null or failure <> 'blank_line' || chr(31)) and line_number > cast({{ n_header_lines }} as bigint)
)

select * from final
