-- run_steps: run x step x label. How long each step of each run took (the whole history).
create table release.run_steps as
with recorded as (
    select * from main.run_steps
),

final as (
    select run_id, step, label, started_at, finished_at, seconds from recorded
)

select * from final order by started_at, run_id, step, label
