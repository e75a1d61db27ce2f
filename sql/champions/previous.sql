-- The champion reigning before run $run_id: the configuration (model and params) that the latest earlier run
-- decided serves, "earlier" by the day processed (so rerunning a day or backfilling in any order sees the same
-- predecessor), and for another run of the same day, by when it started.
with this_run as (
    select run_id, logical_date, started_at from runs where run_id = $run_id
),

earlier as (
    select champions.*, runs.logical_date
    from champions
    join runs using (run_id)
    cross join this_run
    where champions.run_id <> this_run.run_id
      and (
          this_run.logical_date is null
          or runs.logical_date < this_run.logical_date
          or (runs.logical_date = this_run.logical_date and runs.started_at < this_run.started_at)
      )
),

final as (
    select champion_model, champion_params, champion_run_id
    from earlier
    order by logical_date desc nulls last, decided_at desc
    limit 1
)

select * from final
