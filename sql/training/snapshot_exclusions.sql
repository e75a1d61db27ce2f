-- The snapshot's exclusions file: every exclusion in force at the cut-off ($as_of), one row per pair.
-- user_id null excludes the item for every user. An exclusion whose until has passed no longer applies.
with exclusions as (
    select * from exclusions
),

in_force as (
    select user_id, item_id
    from exclusions
    where until_at is null or until_at > $as_of
),

final as (
    select distinct user_id, item_id from in_force
)

select * from final order by item_id, user_id nulls first
