-- Checked item rows of one landing file (from the temp view ingest_source, see src_*.sql), one row per data row.
-- Reasons a row is quarantined: malformed_quotes or wrong_field_count (raw_value: the line); missing_id (item id empty, NULL, 'nan'
-- or 'null'); bad_timestamp (available_from or available_until neither blank nor an ISO-8601 date/time);
-- duplicate_item_id (the item appears again later in the same file: the last line wins, as a later file wins over
-- an earlier one). Ids are trimmed text, like rating ids. The availability window is UTC (an offset is converted,
-- no offset is UTC: the session time zone is UTC while ingesting); blank or absent = open on that side. Genres are '|'-separated; for MovieLens
-- u.item ($genre_flags_from > 0) they are the names of the genre flag columns set to 1.
create or replace temp table stg_items as
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
        trim(fields[$item_pos]) as item_raw,
        nullif(trim(fields[$title_pos]), '') as title,
        case
            when $genre_flags_from > 0 then array_to_string(
                list_filter(
                    list_transform(
                        [
                            'unknown', 'Action', 'Adventure', 'Animation', 'Children''s', 'Comedy', 'Crime',
                            'Documentary', 'Drama', 'Fantasy', 'Film-Noir', 'Horror', 'Musical', 'Mystery',
                            'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western'
                        ],
                        lambda genre, i: case when trim(fields[$genre_flags_from + i - 1]) = '1' then genre end
                    ),
                    lambda genre: genre is not null
                ),
                '|'
            )
            else nullif(trim(fields[$genres_pos]), '')
        end as genres,
        nullif(trim(fields[$description_pos]), '') as description,
        nullif(trim(fields[$available_from_pos]), '') as available_from_raw,
        nullif(trim(fields[$available_until_pos]), '') as available_until_raw
    from source
),

typed as (
    select
        *,
        case
            when lower(coalesce(item_raw, '')) in ('', 'nan', 'null') then null
            when $item_is_float and ends_with(item_raw, '.0') then left(item_raw, length(item_raw) - 2)
            else item_raw
        end as item_id,
        timezone('UTC', try_cast(available_from_raw as timestamptz)) as available_from,
        timezone('UTC', try_cast(available_until_raw as timestamptz)) as available_until
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
            -- 'infinity' casts to a timestamp but is no date: open windows are left blank
            when available_from_raw is not null and (available_from is null or not isfinite(available_from))
                then {'reason': 'bad_timestamp', 'column_name': $available_from_column, 'raw_value': available_from_raw}
            when available_until_raw is not null and (available_until is null or not isfinite(available_until))
                then {'reason': 'bad_timestamp', 'column_name': $available_until_column, 'raw_value': available_until_raw}
        end as failure
    from typed
),

flagged as (
    select
        *,
        case
            when failure is not null then failure.reason
            when line_number < max(line_number) over (partition by item_id, failure is null)
                then 'duplicate_item_id'
        end as reason
    from checked
),

final as (
    select
        line_number,
        item_id,
        title,
        genres,
        description,
        available_from,
        available_until,
        reason,
        case when reason = 'duplicate_item_id' then $item_column else failure.column_name end as column_name,
        case
            when reason = 'duplicate_item_id' then item_id
            when reason is not null then coalesce(failure.raw_value, raw_line, array_to_string(fields, ','))
        end as raw_value
    from flagged
)

select * from final
