-- Checked exclusion rows of one landing file (from the temp view ingest_source, see src_*.sql), one row per data
-- row: "do not recommend item_id to user_id until until_at". Reasons a row is quarantined (the first failing
-- check wins; column_name is the file's name for the column, raw_value what was read):
--   malformed_quotes / wrong_field_count   as for items (raw_value: the line)
--   missing_id      the item id is empty, NULL, 'nan' or 'null' (any case)
--   bad_timestamp   until is neither blank nor an ISO-8601 date/time
-- A user id that is empty, NULL, 'nan' or 'null' (the values that mean "no id" everywhere in ingest) is loaded as
-- NULL: the item is excluded for every user. A blank or absent until is NULL: excluded for ever. until is UTC
-- (an offset is converted, none means UTC: the session time zone is UTC while ingesting). Ids are trimmed text
-- (a Parquet FLOAT/DOUBLE id column: 1.0 -> '1'). Repeated rules are not quarantined: a rule stated twice is the
-- same rule, so every good row loads.
create or replace temp table stg_exclusions as
with source as (
    select line_number, n_fields, fields, raw_line
    from ingest_source
    where line_number > $n_header_lines
),

renamed as (
    select
        line_number,
        n_fields,
        fields,
        raw_line,
        trim(fields[$user_pos]) as user_raw,
        trim(fields[$item_pos]) as item_raw,
        nullif(trim(fields[$until_pos]), '') as until_raw
    from source
),

typed as (
    select
        *,
        case
            when lower(coalesce(user_raw, '')) in ('', 'nan', 'null') then null
            when $user_is_float and ends_with(user_raw, '.0') then left(user_raw, length(user_raw) - 2)
            else user_raw
        end as user_id,
        case
            when lower(coalesce(item_raw, '')) in ('', 'nan', 'null') then null
            when $item_is_float and ends_with(item_raw, '.0') then left(item_raw, length(item_raw) - 2)
            else item_raw
        end as item_id,
        timezone('UTC', try_cast(until_raw as timestamptz)) as until_at
    from renamed
),

checked as (
    select
        *,
        case
            when n_fields < 0
                then {'reason': 'malformed_quotes', 'column_name': null, 'raw_value': null}
            when n_fields <> $n_fields
                then {'reason': 'wrong_field_count', 'column_name': null, 'raw_value': null}
            when item_id is null
                then {'reason': 'missing_id', 'column_name': $item_column, 'raw_value': item_raw}
            -- 'infinity' casts to a timestamp but is no date: "for ever" is a blank until
            when until_raw is not null and (until_at is null or not isfinite(until_at))
                then {'reason': 'bad_timestamp', 'column_name': $until_column, 'raw_value': until_raw}
        end as failure
    from typed
),

final as (
    select
        line_number,
        user_id,
        item_id,
        until_at,
        failure.reason as reason,
        failure.column_name as column_name,
        case
            when failure is not null then coalesce(failure.raw_value, raw_line, array_to_string(fields, ','))
        end as raw_value
    from checked
)

select * from final
