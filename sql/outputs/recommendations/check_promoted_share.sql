-- Promoted rows are items promoted tonight, and no list gives them more than its placement's promoted slots.
with over_share as (
    select
        placements.placement,
        coalesce(users.user_id, lists.unknown_user_id) as user_id,
        null as item_id,
        lists.n_promoted,
        placements.promoted_slots
    from published_list_sizes as lists
    join list_placements using (placement_key)
    join placements using (placement)
    left join snapshot_users as users using (user_index)
    where lists.n_promoted > placements.promoted_slots
),

not_promoted as (
    select lists.placement, lists.user_id, lists.item_id, null as n_promoted, null as promoted_slots
    from published_lists as lists
    join placement_items as allowed using (placement, item_id)
    where lists.promoted and not allowed.promoted
),

final as (
    select * from over_share
    union all
    select * from not_promoted
)

select * from final
