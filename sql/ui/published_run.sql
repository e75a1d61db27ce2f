-- The run whose lists this published version serves.
select any_value(run_id) as run_id from recommendations
