-- Append the rows of stg_promotions that passed every check to promotions (an append-only log of rules).
insert into promotions (item_id, from_at, until_at, source_file, line_number)
with staged as (
    select line_number, item_id, from_at, until_at
    from stg_promotions
    where reason is null
),

final as (
    select
        item_id,
        from_at,
        until_at,
        $source_file as source_file,
        line_number
    from staged
)

select * from final
