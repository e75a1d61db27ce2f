-- The files a run met that it could not ingest (for its report).
select file_path, file_kind, outcome, reason, first_seen_at
from set_aside_files
where run_id = $run_id
order by file_path
