-- similar_items: item x method x rank. Each item's nearest items by each similarity method.
create table release.similar_items as
with similar_rows as (
    select * from read_parquet({{ similar_glob }}, union_by_name = true)
),

final as (
    select
        item_id::varchar          as item_id,
        rank::integer             as rank,
        similar_item_id::varchar  as similar_item_id,
        score::float              as score,
        method::varchar           as method,
        $run_id::varchar          as run_id
    from similar_rows
)

select * from final order by method, item_id, rank
