-- An item is never listed as similar to itself, and never twice for one method.
with final as (
    select item_id, method, similar_item_id, count(*) as n_times
    from release.similar_items
    group by item_id, method, similar_item_id
    having count(*) > 1 or item_id = similar_item_id
)

select * from final
