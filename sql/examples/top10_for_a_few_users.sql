-- A few users with their top-10, titles joined: what `make demo` prints at the end.
with some_users as (
    select distinct user_id from recommendations order by user_id limit 3
),

top10 as (
    select recs.user_id, recs.rank, recs.item_id, items.title, round(recs.score, 4) as score, recs.model
    from recommendations as recs
    join some_users using (user_id)
    left join items using (item_id)
    where recs.rank <= 10
),

final as (
    select * from top10 order by user_id, rank
)

select * from final
