-- No user is recommended an item they already rated, in any placement. Matched on one integer per (user, item)
-- pair, user index in the high 32 bits: a single-key join of 15M list rows with 20M history rows runs in half
-- the time of a two-column one; ids only name the rows found.
with seen as (
    select lists.placement_key, lists.user_index, lists.item_index, lists.rank
    from published_list_keys as lists
    where ((lists.user_index::ubigint << 32) | lists.item_index::ubigint) in (
        select (user_index::ubigint << 32) | item_index::ubigint from snapshot_history
    )
),

final as (
    select list_placements.placement, users.user_id, items.item_id, seen.rank
    from seen
    left join list_placements using (placement_key)
    join snapshot_users as users using (user_index)
    join snapshot_items as items using (item_index)
)

select * from final
