-- The items one placement may recommend at the cut-off ($as_of): in the snapshot's catalogue, inside their
-- availability window, excluded for nobody as a whole (an exclusion with a blank user), and passing the
-- placement's filter (a predicate over the items columns); promoted marks those promoted tonight. Runs on the
-- sandboxed rules connection (jobs.score.rules), over the snapshot's tables loaded into it.
with items as (
    select * from items
),

globally_excluded as (
    select item_id from exclusions where user_id is null
),

available as (
    select *
    from items
    where (available_from is null or available_from <= $as_of)
      and (available_until is null or available_until > $as_of)
),

allowed as (
    select * from available
    where item_id not in (select item_id from globally_excluded)
),

filtered as (
    select * from allowed
    where {{ predicate }}
),

final as (
    select item_index, item_id, item_id in (select item_id from promotions) as promoted
    from filtered
)

select * from final order by item_index
