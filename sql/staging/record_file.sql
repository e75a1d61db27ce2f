-- Record one ingested file in the manifest (in the same transaction as its rows).
insert into ingested_files (
    file_path, file_kind, file_format, size_bytes, sha256,
    n_rows_read, n_rows_loaded, n_rows_quarantined, ingested_at, run_id
)
with final as (
    select
        $file_path as file_path,
        $file_kind as file_kind,
        $file_format as file_format,
        cast($size_bytes as bigint) as size_bytes,
        $sha256 as sha256,
        cast($n_rows_read as bigint) as n_rows_read,
        cast($n_rows_loaded as bigint) as n_rows_loaded,
        cast($n_rows_quarantined as bigint) as n_rows_quarantined,
        cast($ingested_at as timestamp) as ingested_at,
        cast($run_id as varchar) as run_id
)

select * from final
