-- No item appears twice in a user's list of a placement.
with final as (
    select placement, user_id, item_id, count(*) as n_times
    from published_lists
    group by placement, user_id, item_id
    having count(*) > 1
)

select * from final
