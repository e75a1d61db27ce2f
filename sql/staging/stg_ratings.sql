-- The rating rows of one landing file, numbered as an editor shows them (1-based, header counted): the lines of
-- stg_rating_lines (typed and checked there) with their line numbers, without the header and empty lines.
-- A Parquet row carries its number (file_row_number + 1); a text line is numbered by its place in the table,
-- which keeps file order: line n is the n-th row (rowid n - 1 counted from the table's first rowid, which is not 0
-- inside a transaction).
create or replace temp view stg_ratings as
with first_row as (
    select min(rowid) as first_rowid
    from stg_rating_lines
),

numbered as (
    select
        coalesce(source_line_number, rowid - first_row.first_rowid + 1) as line_number,
        is_blank,
        user_id,
        item_id,
        rating,
        rated_at,
        reason,
        column_name,
        raw_value
    from stg_rating_lines
    cross join first_row
),

final as (
    select line_number, user_id, item_id, rating, rated_at, reason, column_name, raw_value
    from numbered
    where not is_blank and line_number > cast({{ n_header_lines }} as bigint)
)

select * from final
