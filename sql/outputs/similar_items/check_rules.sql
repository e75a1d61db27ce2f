-- No item is shown as similar to another when tonight's rules keep it from everyone: excluded for every user,
-- or outside its availability window at the cut-off.
with final as (
    select neighbours.method, neighbours.item_id, neighbours.similar_item_id
    from release.similar_items as neighbours
    left join snapshot_items as items on items.item_id = neighbours.similar_item_id
    where neighbours.similar_item_id in (select item_id from snapshot_exclusions where user_id is null)
       or (items.available_from is not null and items.available_from > $as_of)
       or (items.available_until is not null and items.available_until <= $as_of)
)

select * from final
