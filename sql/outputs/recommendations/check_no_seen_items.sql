-- No user is recommended an item they already rated, in any placement.
with final as (
    select lists.placement, lists.user_id, lists.item_id, lists.rank
    from published_lists as lists
    join snapshot_history as history using (user_id, item_id)
)

select * from final
