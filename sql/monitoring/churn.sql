-- churn: over the users in both the previous published version's recommendations (attached as previous) and
-- tonight's, the mean share of a user's items tonight that were not in their previous list.
insert into monitoring_measured
with tonight as (
    select user_id, item_id from release.recommendations
),

before as (
    select user_id, item_id from previous.recommendations
),

shared_users as (
    select user_id from tonight
    intersect
    select user_id from before
),

per_user as (
    select tonight.user_id, avg(case when before.item_id is null then 1.0 else 0.0 end) as share_new
    from tonight
    semi join shared_users using (user_id)
    left join before using (user_id, item_id)
    group by tonight.user_id
),

final as (
    select
        5 as position,
        'churn' as metric,
        avg(share_new) as value,
        case
            when count(*) = 0 then 'no user in both tonight''s lists and run ' || $previous_run_id || '''s'
            else 'against run ' || $previous_run_id || ': ' || count(*) || ' users in both'
        end as note
    from per_user
)

select * from final
