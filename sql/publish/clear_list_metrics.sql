-- A rerun of build_release replaces its run's published-list figures.
delete from model_metrics where run_id = $run_id and split = 'published'
