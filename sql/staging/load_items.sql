-- Upsert the rows of stg_items that passed every check into items: a later file wins over an earlier one.
insert or replace into items (item_id, title, genres, description, available_from, available_until, source_file)
with staged as (
    select item_id, title, genres, description, available_from, available_until
    from stg_items
    where reason is null
),

final as (
    select
        item_id,
        title,
        genres,
        description,
        available_from,
        available_until,
        $source_file as source_file
    from staged
)

select * from final
