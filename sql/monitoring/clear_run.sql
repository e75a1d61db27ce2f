-- A rerun of a run replaces its monitoring rows.
delete from run_monitoring where run_id = $run_id
