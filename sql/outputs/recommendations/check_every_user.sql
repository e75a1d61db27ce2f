-- Every user of the run's snapshot has, in every placement, min(N, items they may be shown) rows: the
-- placement's eligible items they have not rated and are not excluded from, the promoted ones counting up to
-- the placement's promoted slots. None missing, none short. Counted on snapshot indexes (published_list_sizes);
-- ids only name the failing lists.
with rated_and_excluded as (
    select user_index, item_index
    from snapshot_history
    semi join snapshot_user_exclusions using (user_index, item_index)
),

-- The history holds each (user, item) once (sql/training/interactions.sql), so the blocked pairs are the
-- history plus the exclusions it does not hold: no distinct over every rating (a union cost 7 s at 20M).

blocked as (
    select user_index, item_index from snapshot_history
    union all
    (
        select user_index, item_index from snapshot_user_exclusions
        except
        select user_index, item_index from rated_and_excluded
    )
),

allowed as (
    select list_placements.placement_key, items.item_index, placement_items.promoted
    from placement_items
    join list_placements using (placement)
    join snapshot_items as items using (item_id)
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
        allowed.placement_key,
        blocked.user_index,
        count(*) filter (where not allowed.promoted) as n_organic_blocked,
        count(*) filter (where allowed.promoted) as n_promoted_blocked
    from blocked
    join allowed using (item_index)
    group by allowed.placement_key, blocked.user_index
),

expected as (
    select
        placements.placement,
        list_placements.placement_key,
        users.user_index,
        users.user_id,
        least(
            placements.top_n,
            coalesce(sizes.n_organic, 0) - coalesce(b.n_organic_blocked, 0)
                + least(placements.promoted_slots, coalesce(sizes.n_promoted, 0) - coalesce(b.n_promoted_blocked, 0))
        ) as n_expected
    from placements
    join list_placements using (placement)
    cross join snapshot_users as users
    left join sizes using (placement)
    left join blocked_in_placement as b
        on b.placement_key = list_placements.placement_key and b.user_index = users.user_index
),

final as (
    select expected.placement, expected.user_id, expected.n_expected, coalesce(actual.n_rows, 0) as n_actual
    from expected
    left join published_list_sizes as actual
        on actual.placement_key = expected.placement_key and actual.user_index = expected.user_index
    where coalesce(actual.n_rows, 0) <> expected.n_expected
)

select * from final
