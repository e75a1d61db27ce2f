-- The fallback list exists and is ranked 1..n.
with summary as (
    select count(*) as n_rows, count(distinct item_id) as n_items, coalesce(max(rank), 0) as max_rank
    from release.popular_items
),

final as (
    select * from summary where n_rows = 0 or n_items <> n_rows or max_rank <> n_rows
)

select * from final
