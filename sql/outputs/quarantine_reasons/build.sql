-- quarantine_reasons: run x reason x column. The rows quarantined from the files each run ingested (every kind:
-- ratings, items, exclusions, promotions), by reason and offending column (the whole history).
create table release.quarantine_reasons as
with files as (
    select file_path, run_id from main.ingested_files where run_id is not null
),

quarantined as (
    select source_file, reason, column_name from main.quarantine
),

final as (
    select files.run_id, quarantined.reason, quarantined.column_name, count(*)::bigint as n_rows
    from quarantined
    join files on files.file_path = quarantined.source_file
    group by files.run_id, quarantined.reason, quarantined.column_name
)

select * from final order by run_id, reason, column_name nulls first
