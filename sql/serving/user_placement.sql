-- A user's published list in a named placement, with the items' titles and genres (recs recommend --placement).
select lists.rank, lists.item_id, items.title, items.genres, lists.score, lists.promoted, lists.model
from placement_recommendations as lists
left join items using (item_id)
where lists.user_id = $user_id and lists.placement = $placement
order by lists.rank
