-- The fallback list shows no item that tonight's rules keep from everyone: excluded for every user, or outside
-- its availability window at the cut-off.
with final as (
    select popular.rank, popular.item_id
    from release.popular_items as popular
    left join snapshot_items as items using (item_id)
    where popular.item_id in (select item_id from snapshot_exclusions where user_id is null)
       or (items.available_from is not null and items.available_from > $as_of)
       or (items.available_until is not null and items.available_until <= $as_of)
)

select * from final
