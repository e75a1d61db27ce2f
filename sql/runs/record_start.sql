-- Start (or restart, on a rerun of the same run id) a run's row; counts are filled in as steps finish.
insert or replace into runs (
    run_id, logical_date, as_of, status, started_at, finished_at,
    rows_ingested, rows_quarantined, users, items, champion_model, message
)
values ($run_id, $logical_date, $as_of, 'running', $started_at, null, null, null, null, null, null, null)
