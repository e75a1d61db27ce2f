-- placement_recommendations: placement x user x rank. Every named placement's lists (recs.toml
-- [placements.<name>]), filled from the same champion scores as recommendations, under the same rules plus the
-- placement's own filter, diversity and promoted slots.
create table release.placement_recommendations as
with scored as (
    select * from read_parquet({{ placements_glob }})
),

final as (
    select
        placement::varchar      as placement,
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

select * from final order by placement, user_id, rank
