-- A rerun of the candidates step replaces its run's skipped candidates.
delete from skipped_candidates where run_id = $run_id
