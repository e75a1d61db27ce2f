-- Rows about to be replaced by a newer record of the same step (an earlier run's publish and write_report are
-- recorded after its release was built).
delete from run_steps
where exists (
    select 1
    from step_records
    where step_records.run_id = run_steps.run_id
      and step_records.step = run_steps.step
      and step_records.label is not distinct from run_steps.label
)
