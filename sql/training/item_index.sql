-- Dense 0-based column numbers for the snapshot's items, in id order, with their metadata (and availability window) when known.
with snapshot_items as (
    select distinct item_id from snapshot_interactions
),

indexed as (
    select item_id, (row_number() over (order by item_id) - 1)::integer as item_index
    from snapshot_items
),

final as (
    select
        indexed.item_index,
        indexed.item_id,
        items.title,
        items.genres,
        items.description,
        items.available_from,
        items.available_until
    from indexed
    left join items using (item_id)
)

select * from final order by item_index
