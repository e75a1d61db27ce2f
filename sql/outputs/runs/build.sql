-- runs: run. Every run of the pipeline with its counts and outcome; this run as published.
create table release.runs as
with runs as (
    select * from main.runs
),

final as (
    select
        run_id, logical_date, as_of,
        case when run_id = $run_id then 'published' else status end as status,
        started_at,
        case when run_id = $run_id then $generated_at::timestamp else finished_at end as finished_at,
        rows_ingested, rows_quarantined, users, items, champion_model, message
    from runs
)

select * from final order by started_at
