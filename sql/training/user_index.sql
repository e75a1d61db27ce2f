-- Dense 0-based row numbers for the snapshot's users, in id order (deterministic across reruns).
with users as (
    select distinct user_id from snapshot_interactions
),

final as (
    select user_id, (row_number() over (order by user_id) - 1)::integer as user_index
    from users
)

select * from final
