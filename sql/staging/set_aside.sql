-- Record (or refresh) a landing file that could not be ingested; the first sighting is kept.
insert into set_aside_files (file_path, file_kind, outcome, reason, first_seen_at, last_seen_at, run_id)
values ($file_path, $file_kind, $outcome, $reason, $seen_at, $seen_at, $run_id)
on conflict (file_path) do update set
    file_kind = excluded.file_kind,
    outcome = excluded.outcome,
    reason = excluded.reason,
    last_seen_at = excluded.last_seen_at,
    run_id = excluded.run_id
