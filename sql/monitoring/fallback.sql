-- fallback_users / fallback_share: users whose default list came from the popularity fallback (rows whose model
-- is 'popularity' while the champion is another model), and their share of the users with a list.
insert into monitoring_measured
with lists as (
    select user_id, model from release.recommendations
),

champion as (
    select coalesce((select champion_model from release.champions where run_id = $run_id), '') as champion_model
),

counted as (
    select
        count(distinct lists.user_id) as n_users,
        count(distinct lists.user_id) filter (
            where lists.model = 'popularity' and champion.champion_model <> 'popularity'
        ) as n_fallback
    from lists
    cross join champion
),

final as (
    select 8 as position, 'fallback_users' as metric, n_fallback::double as value,
           'of ' || n_users || ' users with a list' as note
    from counted
    union all
    select 9, 'fallback_share', case when n_users > 0 then n_fallback / n_users end,
           'champion ' || coalesce(nullif((select champion_model from champion), ''), 'unknown')
    from counted
)

select * from final
