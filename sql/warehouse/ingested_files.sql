-- Manifest of landing files: each file is ingested exactly once, keyed by its resolved path.
-- A file whose size or checksum changed under an already ingested path is an error, never a reload.
create table if not exists ingested_files (
    file_path        varchar primary key,
    file_kind        varchar not null,      -- 'ratings', 'items', 'exclusions' or 'promotions'
    file_format      varchar not null,      -- csv, tsv, parquet, movielens_udata, movielens_dat, movielens_item,
                                            -- movielens_movies_dat (see jobs/ingest/formats.py)
    size_bytes       bigint not null,
    sha256           varchar not null,      -- hex digest of the whole file
    n_rows_read      bigint not null,       -- data rows (blank lines and the header are not rows)
    n_rows_loaded    bigint not null,       -- = n_rows_read - n_rows_quarantined (sql/staging/check_reconciles.sql)
    n_rows_quarantined bigint not null,
    ingested_at      timestamp not null,
    run_id           varchar                -- the run that ingested it (null: `recs ingest`)
)
