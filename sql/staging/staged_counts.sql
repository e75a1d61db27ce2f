-- Rows read and rows failing a check in a staging table ({{ staged }}: stg_ratings, stg_rating_duplicates,
-- stg_items, stg_exclusions or stg_promotions).
with staged as (
    select reason
    from {{ staged }}
),

final as (
    select
        count(*) as n_rows,
        count(*) filter (where reason is not null) as n_rows_failed
    from staged
)

select * from final
