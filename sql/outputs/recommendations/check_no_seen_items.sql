-- No user is recommended an item they already rated.
with final as (
    select recs.user_id, recs.item_id, recs.rank
    from release.recommendations as recs
    join snapshot_history as history using (user_id, item_id)
)

select * from final
