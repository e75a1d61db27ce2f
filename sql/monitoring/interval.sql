-- The intervals tonight's drift metrics compare. The previous published run is the latest run other than this
-- one whose status is 'published' and whose as_of is not later than this run's (ties: the one that finished
-- last); the one before it in the same order is the earlier run. Tonight's interval is [previous run's as_of,
-- this run's as_of); the previous interval is [earlier run's as_of, previous run's as_of), unbounded below when
-- there is no earlier run. A first publish (no previous published run) has no interval start.
create or replace temp table monitoring_interval as
with published as (
    select run_id, as_of, finished_at
    from main.runs
    where status = 'published'
      and run_id <> $run_id
      and as_of is not null
      and as_of <= $as_of::timestamp
),

ordered as (
    select
        run_id,
        as_of,
        row_number() over (order by as_of desc, finished_at desc nulls last, run_id desc) as recency
    from published
),

final as (
    select
        $run_id::varchar                                          as run_id,
        $as_of::timestamp                                         as interval_end,
        (select run_id from ordered where recency = 1)            as previous_run_id,
        (select as_of from ordered where recency = 1)             as interval_start,
        (select as_of from ordered where recency = 2)             as previous_interval_start
)

select * from final
