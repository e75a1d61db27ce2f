-- The step records into the warehouse's run_steps (the history the release publishes whole).
insert into run_steps by name
select run_id, step, label, started_at, finished_at, seconds from step_records
