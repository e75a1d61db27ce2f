-- The snapshot as (user_index, item_index) pairs in CSR order, timestamps as epoch seconds.
with interactions as (
    select * from snapshot_interactions
),

final as (
    select
        users.user_index,
        items.item_index,
        interactions.rating::float as rating,
        epoch(interactions.rated_at)::bigint as rated_at_epoch
    from interactions
    join snapshot_users as users using (user_id)
    join snapshot_items as items using (item_id)
)

select * from final order by user_index, item_index
