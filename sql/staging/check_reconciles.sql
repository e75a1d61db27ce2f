-- Ingested files whose counts do not reconcile: nothing read may be dropped silently, so for every file
-- n_rows_read = n_rows_loaded + n_rows_quarantined, its quarantine rows number n_rows_quarantined and, for a
-- ratings file, its ratings rows number n_rows_loaded (items are upserted, so a later file may replace them).
-- Returns one row per violating file among $files (the paths just ingested; null = every file); empty means
-- all is well. Run after every ingest, and by the tests over the whole warehouse.
with manifest as (
    select file_path, file_kind, n_rows_read, n_rows_loaded, n_rows_quarantined
    from ingested_files
    where $files::varchar[] is null or list_contains($files::varchar[], file_path)
),

loaded as (
    select source_file as file_path, count(*) as n_rows
    from ratings
    where source_file in (select file_path from manifest)
    group by source_file
),

quarantined as (
    select source_file as file_path, count(*) as n_rows
    from quarantine
    where source_file in (select file_path from manifest)
    group by source_file
),

compared as (
    select
        manifest.*,
        coalesce(loaded.n_rows, 0) as n_ratings_rows,
        coalesce(quarantined.n_rows, 0) as n_quarantine_rows
    from manifest
    left join loaded using (file_path)
    left join quarantined using (file_path)
),

final as (
    select *
    from compared
    where n_rows_read <> n_rows_loaded + n_rows_quarantined
        or n_quarantine_rows <> n_rows_quarantined
        or (file_kind = 'ratings' and n_ratings_rows <> n_rows_loaded)
)

select * from final
