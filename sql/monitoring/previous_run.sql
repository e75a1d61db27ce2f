-- The previous published run that tonight is compared with (null on a first publish).
select previous_run_id from monitoring_interval
