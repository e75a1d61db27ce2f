-- Every list of a placement holds only the items its filter and tonight's rules allow (placement_items, built
-- by DuckDB from the placement's filter, independently of the scoring code).
with final as (
    select lists.placement, lists.user_id, lists.item_id, lists.rank
    from published_lists as lists
    anti join placement_items as allowed using (placement, item_id)
)

select * from final
