-- Exact duplicates among the rows of stg_ratings that passed their checks: a row with the same user, item, rating
-- and time as an earlier line of the same file, or as a rating already loaded, is quarantined as duplicate_row
-- (raw_value says which: 'same as line <n>' or 'same as a rating already loaded'); the first occurrence loads.
-- Re-ratings (same user and item at another time) are not duplicates: sql/training resolves them.
create or replace temp table stg_rating_duplicates as
with checked as not materialized (
    select line_number, user_id, item_id, rating, rated_at
    from stg_ratings
    where reason is null
),

repeated as (
    select user_id, item_id, rating, rated_at, min(line_number) as first_line
    from checked
    group by user_id, item_id, rating, rated_at
    having count(*) > 1
),

in_file as (
    select
        checked.line_number,
        'same as line ' || repeated.first_line as raw_value
    from checked
    inner join repeated
        on checked.user_id = repeated.user_id
        and checked.item_id = repeated.item_id
        and checked.rating = repeated.rating
        and checked.rated_at = repeated.rated_at
    where checked.line_number > repeated.first_line
),

in_warehouse as (
    -- an inner join, so DuckDB builds on the smaller side and prunes the other with the build side's key ranges
    select distinct
        checked.line_number,
        'same as a rating already loaded' as raw_value
    from checked
    inner join ratings as loaded
        on checked.user_id = loaded.user_id
        and checked.item_id = loaded.item_id
        and checked.rating = loaded.rating
        and checked.rated_at = loaded.rated_at
),

final as (
    select line_number, 'duplicate_row' as reason, cast(null as varchar) as column_name, raw_value
    from in_file
    union all
    select line_number, 'duplicate_row' as reason, cast(null as varchar) as column_name, raw_value
    from in_warehouse
    where line_number not in (select line_number from in_file)
)

select * from final
