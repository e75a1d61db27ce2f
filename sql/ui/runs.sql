-- The runs up to and including $run_id (every run when it is null), oldest first: the x-axis of every plot.
with upto as (
    select started_at from runs where run_id = $run_id
),

final as (
    select run_id, logical_date, as_of, status, started_at, finished_at, rows_ingested, rows_quarantined, users,
           items, champion_model, message
    from runs
    where $run_id is null or started_at <= (select started_at from upto)
)

select * from final
order by started_at, run_id
