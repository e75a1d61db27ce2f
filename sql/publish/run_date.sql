-- The day a published version's run processed (for the current pointer on rollback).
select cast(logical_date as varchar) as run_date from runs where run_id = $run_id
