-- What a run's snapshot holds, and what the run ingested: the rating rows its files loaded and quarantined,
-- over every attempt of the run (a retry that finds the files already ingested does not reset them).
update runs
set rows_ingested = ingested.n_loaded,
    rows_quarantined = ingested.n_quarantined,
    users = $users,
    items = $items
from (
    select
        coalesce(sum(n_rows_loaded), 0) as n_loaded,
        coalesce(sum(n_rows_quarantined), 0) as n_quarantined
    from ingested_files
    where run_id = $run_id and file_kind = 'ratings'
) as ingested
where runs.run_id = $run_id
