-- Append the rows of stg_exclusions that passed every check to exclusions (an append-only log of rules).
insert into exclusions (user_id, item_id, until_at, source_file, line_number)
with staged as (
    select line_number, user_id, item_id, until_at
    from stg_exclusions
    where reason is null
),

final as (
    select
        user_id,
        item_id,
        until_at,
        $source_file as source_file,
        line_number
    from staged
)

select * from final
