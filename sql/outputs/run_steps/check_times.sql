-- A step ends after it starts, and each run x step x label is recorded once.
select run_id, step, label, count(*) as n_rows, min(seconds) as seconds
from release.run_steps
group by run_id, step, label
having count(*) > 1 or min(seconds) < 0 or bool_or(finished_at < started_at)
