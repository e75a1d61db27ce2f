-- The champion reigning before run $run_id: the decision of the latest earlier run (by the day processed),
-- so rerunning a day or backfilling in any order sees the same predecessor.
with this_run as (
    select run_id, logical_date from runs where run_id = $run_id
),

earlier as (
    select champions.*, runs.logical_date
    from champions
    join runs using (run_id)
    cross join this_run
    where champions.run_id <> this_run.run_id
      and (this_run.logical_date is null or runs.logical_date < this_run.logical_date)
),

final as (
    select champion_model, champion_run_id, champion_value
    from earlier
    order by logical_date desc nulls last, decided_at desc
    limit 1
)

select * from final
