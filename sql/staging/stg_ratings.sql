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
        string_split(failure, chr(31)) as failure_parts   -- NULL on a good row
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
        failure_parts[1] as reason,
        nullif(failure_parts[2], '') as column_name,
        case when len(failure_parts) > 2 then array_to_string(failure_parts[3:], chr(31)) end as raw_value
    from numbered
    where reason is distinct from 'blank_line' and line_number > cast({{ n_header_lines }} as bigint)
)

select * from final
