-- A user's published list in the default placement ($placement null or 'default': recommendations) or a named one
-- (placement_recommendations), with the items' titles and genres: `recs recommend` and the Recommendations view.
with lists as (
    select user_id, rank, item_id, score, promoted, model, run_id
    from recommendations
    where $placement is null or $placement = 'default'
    union all by name
    select user_id, rank, item_id, score, promoted, model, run_id
    from placement_recommendations
    where $placement is not null and placement = $placement
)

select lists.rank, lists.item_id, items.title, items.genres, lists.score, lists.promoted, lists.model, lists.run_id
from lists
left join items using (item_id)
where lists.user_id = $user_id
order by lists.rank
