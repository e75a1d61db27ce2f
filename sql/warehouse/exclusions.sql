-- Business rule: items never to recommend to a user (or to anyone), from landing/exclusions; an append-only log
-- of every good row of every file (sql/staging/stg_exclusions.sql). A rule applies while until_at is null or
-- later than the moment it is checked; repeats are harmless.
create table if not exists exclusions (
    user_id      varchar,               -- null: the item is excluded for every user
    item_id      varchar not null,
    until_at     timestamp,             -- UTC; null: for ever
    source_file  varchar not null,      -- resolved path, as ingested_files.file_path
    line_number  bigint                 -- 1-based line in the file, header counted (row number for Parquet)
)
