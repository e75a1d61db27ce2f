-- What tonight's rules hold, for the log and the report: exclusions and promotions in force, and how many of
-- them name a user or an item the snapshot does not know (counted, not errors: an id may arrive later).
with exclusions as (
    select * from exclusions
),

promotions as (
    select * from promotions
),

final as (
    select
        (select count(*) from exclusions where user_id is null) as global_exclusions,
        (select count(*) from exclusions where user_id is not null) as user_exclusions,
        (select count(*) from exclusions where user_id is not null and user_id not in (select user_id from users))
            as exclusions_unknown_user,
        (select count(*) from exclusions where item_id not in (select item_id from items)) as exclusions_unknown_item,
        (select count(*) from promotions) as promotions,
        (select count(*) from promotions where item_id not in (select item_id from items)) as promotions_unknown_item,
        (select count(*) from items
         where (available_from is not null and available_from > $as_of)
            or (available_until is not null and available_until <= $as_of)) as items_unavailable,
        (select count(*) from items
         where (available_from is not null and available_from > $as_of)
            or (available_until is not null and available_until <= $as_of)
            or item_id in (select item_id from exclusions where user_id is null)) as items_ruled_out
)

select * from final
