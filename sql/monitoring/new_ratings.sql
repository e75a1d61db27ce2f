-- new_ratings: how many ratings tonight's interval holds; new_user_share / new_item_share: the share of them by
-- users (of items) with no rating before the interval. The shares are null on a night without new ratings,
-- which the note says. After a previous published run only: new_ratings_first.sql measures a first publish.
insert into monitoring_measured
with bounds as (
    select * from monitoring_interval
),

tonight as (
    select user_id, item_id from monitoring_ratings where side = 'tonight'
),

earlier as (
    select ratings.user_id, ratings.item_id
    from main.ratings as ratings
    cross join bounds
    where ratings.rated_at < bounds.interval_start
),

known_users as (
    select distinct user_id from earlier
),

known_items as (
    select distinct item_id from earlier
),

counted as (
    select
        count(*)                                                as n_ratings,
        count(*) filter (where known_users.user_id is null)    as n_by_new_users,
        count(*) filter (where known_items.item_id is null)    as n_of_new_items
    from tonight
    left join known_users using (user_id)
    left join known_items using (item_id)
),

described as (
    select counted.*, '[' || bounds.interval_start || ', ' || bounds.interval_end || ')' as interval_text
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
    select
        3,
        'new_user_share',
        case when n_ratings > 0 then n_by_new_users / n_ratings end,
        case
            when n_ratings = 0 then 'no new ratings tonight'
            else n_by_new_users || ' of ' || n_ratings || ' ratings by users new in ' || interval_text
        end
    from described
    union all
    select
        4,
        'new_item_share',
        case when n_ratings > 0 then n_of_new_items / n_ratings end,
        case
            when n_ratings = 0 then 'no new ratings tonight'
            else n_of_new_items || ' of ' || n_ratings || ' ratings of items new in ' || interval_text
        end
    from described
)

select * from final
