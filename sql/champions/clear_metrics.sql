-- A rerun of the gate replaces its run's metrics.
delete from model_metrics where run_id = $run_id
