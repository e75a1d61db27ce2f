-- psi_rating: the population stability index of tonight's rating values against the previous interval's,
-- sum over bins of (p_tonight - p_previous) * ln(p_tonight / p_previous). A bin is a rating value (rounded to
-- the half star); a share of 0 counts as 0.0001 so that an empty bin stays finite. Null, with a note, when
-- either side has no ratings.
insert into monitoring_measured
with bounds as (
    select * from monitoring_interval
),

binned as (
    select side, round(rating * 2) / 2 as bin from monitoring_ratings
),

sizes as (
    select
        count(*) filter (where side = 'tonight')  as n_tonight,
        count(*) filter (where side = 'previous') as n_previous
    from binned
),

counted as (
    select bin, count(*) filter (where side = 'tonight') as n_tonight, count(*) filter (where side = 'previous') as n_previous
    from binned
    group by bin
),

shares as (
    select
        greatest(counted.n_tonight / sizes.n_tonight, 0.0001)   as p_tonight,
        greatest(counted.n_previous / sizes.n_previous, 0.0001) as p_previous
    from counted
    cross join sizes
    where sizes.n_tonight > 0 and sizes.n_previous > 0
),

final as (
    select
        1 as position,
        'psi_rating' as metric,
        case
            when sizes.n_tonight > 0 and sizes.n_previous > 0
                then (select sum((p_tonight - p_previous) * ln(p_tonight / p_previous)) from shares)
        end as value,
        case
            when bounds.interval_start is null then 'first publish: no earlier interval to compare with'
            when sizes.n_tonight = 0 then 'no ratings in tonight''s interval [' || bounds.interval_start || ', '
                                           || bounds.interval_end || ')'
            when sizes.n_previous = 0 then 'no ratings in the previous interval [' || coalesce(bounds.previous_interval_start::varchar, 'start')
                                           || ', ' || bounds.interval_start || ')'
            else sizes.n_tonight || ' ratings in [' || bounds.interval_start || ', ' || bounds.interval_end || ') against '
                 || sizes.n_previous || ' in [' || coalesce(bounds.previous_interval_start::varchar, 'start') || ', '
                 || bounds.interval_start || ')'
        end as note
    from sizes
    cross join bounds
)

select * from final
