-- The run's own step rows are replaced by the records its folder holds now (a restarted run cleared them).
delete from run_steps where run_id = $run_id
