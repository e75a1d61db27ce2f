-- How long each step of each run took (published by the monitoring step).
select run_id, step, label, started_at, finished_at, seconds
from run_steps
order by run_id, started_at, step
