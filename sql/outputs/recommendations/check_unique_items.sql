-- No item appears twice in a user's list of a placement. The lists with fewer distinct items than rows
-- (published_list_sizes) are the only ones searched for the repeated item.
with flagged as (
    select placement_key, user_index, unknown_user_id from published_list_sizes where n_items < n_rows
),

repeated as (
    select
        lists.placement_key,
        lists.user_index,
        lists.unknown_user_id,
        lists.item_index,
        lists.unknown_item_id,
        count(*) as n_times
    from published_list_keys as lists
    semi join flagged
        on lists.placement_key is not distinct from flagged.placement_key
       and lists.user_index is not distinct from flagged.user_index
       and lists.unknown_user_id is not distinct from flagged.unknown_user_id
    group by lists.placement_key, lists.user_index, lists.unknown_user_id, lists.item_index, lists.unknown_item_id
    having count(*) > 1
),

final as (
    select
        list_placements.placement,
        coalesce(users.user_id, repeated.unknown_user_id) as user_id,
        coalesce(items.item_id, repeated.unknown_item_id) as item_id,
        repeated.n_times
    from repeated
    left join list_placements using (placement_key)
    left join snapshot_users as users using (user_index)
    left join snapshot_items as items using (item_index)
)

select * from final
