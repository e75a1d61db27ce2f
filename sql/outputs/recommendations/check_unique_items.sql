-- No item appears twice in a user's list.
with final as (
    select user_id, item_id, count(*) as n_times
    from release.recommendations
    group by user_id, item_id
    having count(*) > 1
)

select * from final
