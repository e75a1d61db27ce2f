-- Promoted rows are items promoted tonight, and no list gives them more than its placement's promoted slots.
with per_list as (
    select placement, user_id, count(*) filter (where promoted) as n_promoted
    from published_lists
    group by placement, user_id
),

over_share as (
    select per_list.placement, per_list.user_id, null as item_id, per_list.n_promoted, placements.promoted_slots
    from per_list
    join placements using (placement)
    where per_list.n_promoted > placements.promoted_slots
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
