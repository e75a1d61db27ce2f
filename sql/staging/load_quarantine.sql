-- Append the rows of a staging table ({{ staged }}: stg_ratings, stg_rating_duplicates, stg_items,
-- stg_exclusions or stg_promotions) that failed a check to quarantine.
insert into quarantine (source_file, line_number, column_name, reason, raw_value, quarantined_at)
with staged as (
    select line_number, column_name, reason, raw_value
    from {{ staged }}
    where reason is not null
),

final as (
    select
        $source_file as source_file,
        line_number,
        column_name,
        reason,
        raw_value,
        cast($quarantined_at as timestamp) as quarantined_at
    from staged
)

select * from final
