-- popular_items: rank. The most-rated items of the run's snapshot: the fallback for unknown users.
create table release.popular_items as
with popular as (
    select * from read_parquet({{ popular_path }})
),

final as (
    select rank::integer as rank, item_id::varchar as item_id, score::float as score, $run_id::varchar as run_id
    from popular
)

select * from final order by rank
