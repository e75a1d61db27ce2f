-- The interactions a run trains on: for each (user, item) the latest rating strictly before the run's
-- cut-off ($as_of, the data interval end; null = everything). Ties on time go to the later file and line,
-- so the choice is deterministic.
with ratings as (
    select user_id, item_id, rating, rated_at, source_file, source_line
    from ratings
    where $as_of::timestamp is null or rated_at < $as_of::timestamp
),

ranked as (
    select
        *,
        row_number() over (
            partition by user_id, item_id
            order by rated_at desc, source_file desc, source_line desc
        ) as recency_rank
    from ratings
),

final as (
    select user_id, item_id, rating, rated_at
    from ranked
    where recency_rank = 1
)

select * from final
