-- Dense 0-based row numbers for the users with a rating before the cut-off ($as_of; null = everything), in id order (deterministic across reruns).
with users as (
    select distinct user_id from ratings
    where $as_of::timestamp is null or rated_at < $as_of::timestamp
),

final as (
    select user_id, (row_number() over (order by user_id) - 1)::integer as user_index
    from users
)

select * from final
