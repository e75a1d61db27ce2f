-- Runs left 'running' by a process that died before it could record its end (disk full, SIGKILL): once another
-- run holds the home, they are known to have failed.
update runs
set status = 'failed',
    finished_at = coalesce(finished_at, $found_at),
    message = coalesce(message || '; ', '') || 'stopped without recording its end (found by run ' || $run_id || ')'
where status = 'running' and run_id <> $run_id
