-- A run's outcome: published or failed, when, and why (null when there is nothing to say).
update runs
set status = $status,
    finished_at = $finished_at,
    message = coalesce($message, message)
where run_id = $run_id
