-- new_ratings, new_user_share, new_item_share on a first publish (no previous published run; new_ratings.sql
-- measures every later one): every rating before the cut-off is tonight's and none came before it, so only
-- the count is measured and the shares are null. Looking tonight's 20M users and items up in an empty past, as
-- new_ratings.sql would, took 4 s.
insert into monitoring_measured
with bounds as (
    select * from monitoring_interval
),

counted as (
    select count(*) as n_ratings from monitoring_ratings where side = 'tonight'
),

described as (
    select counted.n_ratings, 'first publish: every rating before ' || bounds.interval_end as interval_text
    from counted
    cross join bounds
),

final as (
    select
        2 as position,
        'new_ratings' as metric,
        n_ratings::double as value,
        case when n_ratings = 0 then 'no new ratings tonight: none rated in ' || interval_text else interval_text end as note
    from described
    union all
    select 3, 'new_user_share', null::double, 'first publish: no ratings before the interval' from described
    union all
    select 4, 'new_item_share', null::double, 'first publish: no ratings before the interval' from described
)

select * from final
