-- Every user of the run's snapshot has, in every placement, min(N, items they may be shown) rows: the
-- placement's eligible items they have not rated and are not excluded from, the promoted ones counting up to
-- the placement's promoted slots. None missing, none short.
with blocked as (
    select user_id, item_id from snapshot_history
    union
    select user_id, item_id from snapshot_exclusions where user_id is not null
),

sizes as (
    select
        placement,
        count(*) filter (where not promoted) as n_organic,
        count(*) filter (where promoted) as n_promoted
    from placement_items
    group by placement
),

blocked_in_placement as (
    select
        placement_items.placement,
        blocked.user_id,
        count(*) filter (where not placement_items.promoted) as n_organic_blocked,
        count(*) filter (where placement_items.promoted) as n_promoted_blocked
    from blocked
    join placement_items using (item_id)
    group by placement_items.placement, blocked.user_id
),

expected as (
    select
        placements.placement,
        users.user_id,
        least(
            placements.top_n,
            coalesce(sizes.n_organic, 0) - coalesce(b.n_organic_blocked, 0)
                + least(placements.promoted_slots, coalesce(sizes.n_promoted, 0) - coalesce(b.n_promoted_blocked, 0))
        ) as n_expected
    from placements
    cross join snapshot_users as users
    left join sizes using (placement)
    left join blocked_in_placement as b on b.placement = placements.placement and b.user_id = users.user_id
),

actual as (
    select placement, user_id, count(*) as n_actual from published_lists group by placement, user_id
),

final as (
    select expected.placement, expected.user_id, expected.n_expected, coalesce(actual.n_actual, 0) as n_actual
    from expected
    left join actual using (placement, user_id)
    where coalesce(actual.n_actual, 0) <> expected.n_expected
)

select * from final
