-- A user's ratings in the run's snapshot, newest first, with the items' titles and genres (the user lookup).
with user_row as (
    select user_index from read_parquet({{ users }}) where user_id = $user_id
),

rated as (
    select item_index, rating, rated_at_epoch
    from read_parquet({{ interactions }})
    where user_index = (select user_index from user_row)
),

final as (
    select items.item_id, items.title, items.genres, rated.rating, to_timestamp(rated.rated_at_epoch) as rated_at
    from rated
    join read_parquet({{ items }}) as items using (item_index)
)

select * from final
order by rated_at desc, item_id
