-- What a run's snapshot holds, and what the run ingested, once the snapshot is frozen.
update runs
set rows_ingested = $rows_ingested,
    rows_quarantined = $rows_quarantined,
    users = $users,
    items = $items
where run_id = $run_id
