-- How many step records were loaded.
select count(*) as n_records from step_records
