-- Append the rows of stg_ratings that passed every check and are not duplicates to ratings.
insert into ratings (user_id, item_id, rating, rated_at, source_file, source_line)
with staged as (
    select line_number, user_id, item_id, rating, rated_at
    from stg_ratings
    where reason is null
),

duplicates as (
    select line_number
    from stg_rating_duplicates
),

final as (
    select
        staged.user_id,
        staged.item_id,
        staged.rating,
        staged.rated_at,
        $source_file as source_file,
        staged.line_number as source_line
    from staged
    anti join duplicates using (line_number)
)

select * from final
