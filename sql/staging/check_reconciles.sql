-- Ingested files whose counts do not reconcile: nothing read may be dropped silently, so for every file
-- n_rows_read = n_rows_loaded + n_rows_quarantined, its quarantine rows number n_rows_quarantined and, for a
-- file of an append-only kind (ratings, exclusions, promotions), the rows of its table number n_rows_loaded
-- (items are upserted, so a later file may replace them).
-- Returns one row per violating file among $files (the paths just ingested; null = every file); empty means
-- all is well. Run after every ingest, and by the tests over the whole warehouse.
with manifest as (
    select file_path, file_kind, n_rows_read, n_rows_loaded, n_rows_quarantined
    from ingested_files
    where $files::varchar[] is null or list_contains($files::varchar[], file_path)
),

appended as (
    select 'ratings' as file_kind, source_file from ratings
    union all
    select 'exclusions' as file_kind, source_file from exclusions
    union all
    select 'promotions' as file_kind, source_file from promotions
),

loaded as (
    select file_kind, source_file as file_path, count(*) as n_rows
    from appended
    where source_file in (select file_path from manifest)
    group by file_kind, source_file
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
        coalesce(loaded.n_rows, 0) as n_table_rows,
        coalesce(quarantined.n_rows, 0) as n_quarantine_rows
    from manifest
    left join loaded using (file_kind, file_path)
    left join quarantined using (file_path)
),

final as (
    select *
    from compared
    where n_rows_read <> n_rows_loaded + n_rows_quarantined
        or n_quarantine_rows <> n_rows_quarantined
        or (file_kind in ('ratings', 'exclusions', 'promotions') and n_table_rows <> n_rows_loaded)
)

select * from final
