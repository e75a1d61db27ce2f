-- Typed and checked rating lines of one landing file (from the temp view ingest_lines, see src_*.sql): one row
-- per line, in file order, with its typed values and, for a row that fails a check, why. The lines are not
-- numbered here (so DuckDB reads, parses and checks the file on every core); the table keeps file order, so line n
-- is at rowid n - 1, and the view stg_ratings numbers them, drops the header and empty lines. Reasons (the first
-- failing check wins; column_name is the file's name for the column to blame, raw_value what was read):
--   malformed_quotes     a '"' that does not open or close a quoted field (raw_value: the whole line)
--   wrong_field_count    more or fewer fields than the header (raw_value: the whole line)
--   missing_id           user or item id empty, NULL, 'nan' or 'null' (any case)
--   inexact_float_id     a Parquet FLOAT/DOUBLE id that is not a whole number, or past 2^53 where doubles skip
--                        integers (distinct ids may have been rounded to one: fix the file's id type)
--   non_numeric_rating   the rating is not a plain finite number ('0_5' is not: DuckDB reads '_' as a digit
--                        separator, and would load it as 5)
--   rating_out_of_range  the rating is outside [$rating_min, $rating_max]
--   bad_timestamp        neither unix seconds (years 1900..9999) nor an ISO-8601 date/time
--   early_timestamp      before $earliest_limit (ingest.earliest_timestamp: epoch 0, year 1 and the like)
--   future_timestamp     later than $future_limit (the moment of ingest + future_tolerance_hours)
-- Exact duplicates are found next, in stg_rating_duplicates.sql.
-- Ids are kept as text: '1' and '01' are different ids (a Parquet FLOAT/DOUBLE id column, as pandas writes ids
-- with gaps, is read as the whole number it holds: 1.0 -> '1'). A number in the timestamp column is unix seconds; text is
-- ISO-8601, converted to UTC where it carries an offset and taken as UTC where not (the session time zone is
-- UTC while ingesting). rated_at is a naive UTC TIMESTAMP.
create or replace temp table stg_rating_lines as
with source as (
    select source_line_number, is_blank, n_fields, fields, raw_line
    from ingest_lines
),

renamed as (
    select
        source_line_number,
        is_blank,
        n_fields,
        fields,
        raw_line,
        fields[$user_pos] as user_raw,
        fields[$item_pos] as item_raw,
        fields[$rating_pos] as rating_raw,
        fields[$timestamp_pos] as timestamp_raw
    from source
),

flagged as (
    select
        *,
        user_raw is null or (length(user_raw) < 5 and lower(user_raw) in ('', 'nan', 'null')) as user_missing,
        item_raw is null or (length(item_raw) < 5 and lower(item_raw) in ('', 'nan', 'null')) as item_missing,
        case when $user_is_float then try_cast(user_raw as double) end as user_float,
        case when $item_is_float then try_cast(item_raw as double) end as item_float
    from renamed
),

typed as (
    select
        *,
        case
            when user_missing then null
            when not $user_is_float then user_raw
            when user_float = floor(user_float) and abs(user_float) <= 9007199254740992
                then cast(cast(user_float as bigint) as varchar)
        end as user_id,
        case
            when item_missing then null
            when not $item_is_float then item_raw
            when item_float = floor(item_float) and abs(item_float) <= 9007199254740992
                then cast(cast(item_float as bigint) as varchar)
        end as item_id,
        case when not contains(rating_raw, '_') then try_cast(rating_raw as double) end as rating,
        case when not contains(timestamp_raw, '_') then try_cast(timestamp_raw as double) end as timestamp_seconds
    from flagged
),

timed as (
    select
        *,
        case
            when timestamp_seconds is null then timezone('UTC', try_cast(timestamp_raw as timestamptz))
            when timestamp_seconds between -2208988800 and 253402300799
                then make_timestamp(cast(round(timestamp_seconds * 1000000) as bigint))
        end as rated_at
    from typed
),

checked as (
    select
        *,
        case
            when is_blank then {'reason': 'blank_line', 'column_name': null, 'raw_value': null}
            when n_fields < 0 then {
                'reason': 'malformed_quotes', 'column_name': null,
                'raw_value': coalesce(raw_line, array_to_string(fields, ','))
            }
            when n_fields <> $n_fields then {
                'reason': 'wrong_field_count', 'column_name': null,
                'raw_value': coalesce(raw_line, array_to_string(fields, ','))
            }
            when user_missing
                then {'reason': 'missing_id', 'column_name': $user_column, 'raw_value': user_raw}
            when item_missing
                then {'reason': 'missing_id', 'column_name': $item_column, 'raw_value': item_raw}
            when user_id is null
                then {'reason': 'inexact_float_id', 'column_name': $user_column, 'raw_value': user_raw}
            when item_id is null
                then {'reason': 'inexact_float_id', 'column_name': $item_column, 'raw_value': item_raw}
            when rating is null or not isfinite(rating)
                then {'reason': 'non_numeric_rating', 'column_name': $rating_column, 'raw_value': rating_raw}
            when rating < $rating_min or rating > $rating_max
                then {'reason': 'rating_out_of_range', 'column_name': $rating_column, 'raw_value': rating_raw}
            when rated_at is null
                then {'reason': 'bad_timestamp', 'column_name': $timestamp_column, 'raw_value': timestamp_raw}
            when rated_at < cast($earliest_limit as timestamp)
                then {'reason': 'early_timestamp', 'column_name': $timestamp_column, 'raw_value': timestamp_raw}
            when rated_at > cast($future_limit as timestamp)
                then {'reason': 'future_timestamp', 'column_name': $timestamp_column, 'raw_value': timestamp_raw}
        end as failure
    from timed
),

final as (
    -- The whole failure in one column (NULL on a good row), split again by stg_ratings.sql: each column of this
    -- table costs about 0.3 s per 20M lines to write even when NULL. reason, chr(31), the column's name, and,
    -- where a value was read, chr(31) and that value (everything after: it may hold chr(31) itself).
    select
        user_id,
        item_id,
        rating,
        rated_at,
        case
            when failure is not null
                then failure.reason || chr(31) || coalesce(failure.column_name, '')
                    || coalesce(chr(31) || failure.raw_value, '')
        end as failure
    from checked
)

select * from final
