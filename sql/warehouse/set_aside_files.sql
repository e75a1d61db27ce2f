-- Landing files a run could not ingest, and why: set aside (a file that cannot be read, changed after it was
-- ingested, a symlink out of landing/) or deferred (still being written). The night goes on without them; a
-- row stays until the file ingests (then it is deleted) and each run that meets the file again updates it.
create table if not exists set_aside_files (
    file_path      varchar primary key,
    file_kind      varchar not null,    -- 'ratings', 'items', 'exclusions' or 'promotions'
    outcome        varchar not null,    -- 'set_aside' or 'deferred'
    reason         varchar not null,    -- the error: file, line, column, what was expected and found
    first_seen_at  timestamp not null,
    last_seen_at   timestamp not null,
    run_id         varchar              -- the last run that met it (null: recs ingest)
)
