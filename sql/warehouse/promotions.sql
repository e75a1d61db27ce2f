-- Business rule: items to promote while their window is open, from landing/promotions; an append-only log of
-- every good row of every file (sql/staging/stg_promotions.sql). Repeats are harmless.
create table if not exists promotions (
    item_id      varchar not null,
    from_at      timestamp,             -- UTC; null: open from the start
    until_at     timestamp,             -- UTC; null: open to the end
    source_file  varchar not null,      -- resolved path, as ingested_files.file_path
    line_number  bigint                 -- 1-based line in the file, header counted (row number for Parquet)
)
