-- The report's run section: what the run processed and produced.
select run_id, logical_date, as_of, status, rows_ingested, rows_quarantined, users, items, champion_model
from runs
where run_id = $run_id
