-- recommendations: user x rank. The default placement: the champion's top-N items per user that the user has
-- not rated and tonight's rules allow (promoted items in their slots), from the run's score shards.
create table release.recommendations as
with scored as (
    select * from read_parquet({{ scores_glob }})
),

final as (
    select
        user_id::varchar        as user_id,
        rank::integer           as rank,
        item_id::varchar        as item_id,
        score::float            as score,
        promoted::boolean       as promoted,
        model::varchar          as model,
        $run_id::varchar        as run_id,
        $generated_at::timestamp as generated_at
    from scored
)

select * from final order by user_id, rank
