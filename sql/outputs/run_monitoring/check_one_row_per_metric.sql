-- Each run measures each metric once (a rerun replaces its rows, never adds to them).
select run_id, metric, count(*) as n_rows
from release.run_monitoring
group by run_id, metric
having count(*) > 1
