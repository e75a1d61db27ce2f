-- Tonight's thresholds crossed, when [monitoring] block_publish = true: each row fails the run (not a check_*
-- file: jobs/publish/monitoring.py runs it only when blocking is configured and the run is not forced).
select
    metric,
    value,
    direction,
    threshold,
    metric || ' = ' || round(value, 4) || (case direction when 'max' then ' > max ' else ' < min ' end)
        || threshold || ' ([monitoring] block_publish = true)' as breach
from release.run_monitoring
where run_id = $run_id and breached
order by metric
