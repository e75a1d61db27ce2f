-- A user's published top-N with the items' titles and genres (recs recommend USER_ID).
select recs.rank, recs.item_id, items.title, items.genres, recs.score, recs.promoted, recs.model
from recommendations as recs
left join items using (item_id)
where recs.user_id = $user_id
order by recs.rank
