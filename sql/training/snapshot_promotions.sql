-- The snapshot's promotions file: every item promoted at the cut-off ($as_of), once.
with promotions as (
    select * from promotions
),

in_force as (
    select item_id
    from promotions
    where (from_at is null or from_at <= $as_of)
      and (until_at is null or until_at > $as_of)
),

final as (
    select distinct item_id from in_force
)

select * from final order by item_id
