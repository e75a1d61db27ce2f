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

-- Grouping every row on its four values is the costly part (a hash table as large as the file); instead one
-- 64-bit hash per row is sorted, equal neighbours mark the few rows that may repeat, and only those are grouped
-- on the values themselves (a hash collision alone never quarantines a row).
hashed as (
    select hash(user_id, item_id, rating, rated_at) as row_hash
    from checked
),

repeated_hashes as (
    select distinct row_hash
    from (
        select row_hash, lag(row_hash) over (order by row_hash) as previous_hash
        from hashed
    )
    where row_hash = previous_hash
),

suspects as (
    select checked.line_number, checked.user_id, checked.item_id, checked.rating, checked.rated_at
    from checked
    semi join repeated_hashes
        on hash(checked.user_id, checked.item_id, checked.rating, checked.rated_at) = repeated_hashes.row_hash
),

repeated as (
    select user_id, item_id, rating, rated_at, min(line_number) as first_line
    from suspects
    group by user_id, item_id, rating, rated_at
    having count(*) > 1
),

in_file as (
    select
        suspects.line_number,
        'same as line ' || repeated.first_line as raw_value
    from suspects
    inner join repeated
        on suspects.user_id = repeated.user_id
        and suspects.item_id = repeated.item_id
        and suspects.rating = repeated.rating
        and suspects.rated_at = repeated.rated_at
    where suspects.line_number > repeated.first_line
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
