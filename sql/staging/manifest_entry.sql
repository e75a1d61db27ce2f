-- The manifest row of one file, if it was ingested before.
with manifest as (
    select file_path, size_bytes, sha256, ingested_at, file_format
    from ingested_files
),

final as (
    select size_bytes, sha256, ingested_at, file_format
    from manifest
    where file_path = $file_path
)

select * from final
