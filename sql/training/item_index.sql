-- Dense 0-based column numbers for the items with a rating before the cut-off ($as_of), in id order, with their metadata (and availability window) when known.
with snapshot_items as (
    select distinct item_id from ratings
    where $as_of::timestamp is null or rated_at < $as_of::timestamp
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
