-- No list holds an item excluded, at the run's cut-off, for its user or for everyone (landing/exclusions).
with final as (
    select lists.placement, lists.user_id, lists.item_id, lists.rank, exclusions.user_id is null as for_everyone
    from published_lists as lists
    join snapshot_exclusions as exclusions
        on exclusions.item_id = lists.item_id
       and (exclusions.user_id is null or exclusions.user_id = lists.user_id)
)

select * from final
