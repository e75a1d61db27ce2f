-- Drift and health figures of every run against their thresholds (published by the monitoring step).
select run_id, metric, value, threshold, breached, direction, note, measured_at
from run_monitoring
order by run_id, metric
