-- The step records (runs/<run>/steps/*.json, written by jobs/steps.py's _step) of every run folder kept.
create or replace temp table step_records as
with records as (
    select *
    from read_json({{ steps_glob }}, format = 'auto', columns = {
        run_id: 'VARCHAR', step: 'VARCHAR', label: 'VARCHAR', started_at: 'TIMESTAMP', finished_at: 'TIMESTAMP',
        seconds: 'DOUBLE'
    })
),

final as (
    select run_id, step, label, started_at, finished_at, seconds
    from records
    where run_id is not null and step is not null
)

select * from final
