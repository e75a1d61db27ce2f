-- Which run's trained artifact scored each run of a published version (an older run when the gate kept a champion).
select run_id, champion_run_id from champions
