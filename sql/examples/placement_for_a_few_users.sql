-- The same users in a named placement (recs.toml [placements.comedy]: comedies only, diversified, with promoted
-- slots), titles and genres joined: the second thing `make demo` prints.
with some_users as (
    select distinct user_id from placement_recommendations order by user_id limit 2
),

lists as (
    select
        lists.placement,
        lists.user_id,
        lists.rank,
        lists.item_id,
        items.title,
        items.genres,
        round(lists.score, 4) as score,
        lists.promoted
    from placement_recommendations as lists
    join some_users using (user_id)
    left join items using (item_id)
),

final as (
    select * from lists order by placement, user_id, rank
)

select * from final
