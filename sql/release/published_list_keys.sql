-- Every published row by integer keys, built once for the checks that group or join all of them (15M rows at
-- the 20M-ratings scale, where hashing string ids in each check cost most of the checks' time): the
-- placement's key (list_placements), the snapshot's user and item indexes, rank and promoted. An id the
-- snapshot does not know keeps its string (unknown_user_id, unknown_item_id; null for every known id), so such
-- rows stay apart exactly as they do by id.
create or replace temp table published_list_keys as
with lists as (
    select placement, user_id, item_id, rank, promoted from published_lists
),

final as (
    select
        list_placements.placement_key,
        users.user_index,
        case when users.user_index is null then lists.user_id end as unknown_user_id,
        items.item_index,
        case when items.item_index is null then lists.item_id end as unknown_item_id,
        lists.rank,
        lists.promoted
    from lists
    left join list_placements using (placement)
    left join snapshot_users as users using (user_id)
    left join snapshot_items as items using (item_id)
)

select * from final
