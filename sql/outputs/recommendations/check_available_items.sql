-- No list holds an item outside its availability window (available_from, available_until) at the cut-off.
with final as (
    select lists.placement, lists.user_id, lists.item_id, items.available_from, items.available_until
    from published_lists as lists
    join snapshot_items as items using (item_id)
    where (items.available_from is not null and items.available_from > $as_of)
       or (items.available_until is not null and items.available_until <= $as_of)
)

select * from final
