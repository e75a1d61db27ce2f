-- Tonight's ratings and the previous interval's (monitoring_interval): every rating row loaded (re-ratings
-- included: each is an event), placed by its rated_at, whenever its file was ingested. side = 'tonight' for
-- rated_at in [interval_start, interval_end) (before interval_end on a first publish), 'previous' for rated_at in
-- [previous_interval_start, interval_start).
create or replace temp view monitoring_ratings as
with bounds as (
    select * from monitoring_interval
),

ratings as (
    select user_id, item_id, rating, rated_at from main.ratings
),

final as (
    select
        case
            when bounds.interval_start is null or ratings.rated_at >= bounds.interval_start then 'tonight'
            else 'previous'
        end as side,
        ratings.user_id,
        ratings.item_id,
        ratings.rating,
        ratings.rated_at
    from ratings
    cross join bounds
    where ratings.rated_at < bounds.interval_end
      and (bounds.interval_start is null
           or bounds.previous_interval_start is null
           or ratings.rated_at >= bounds.previous_interval_start)
)

select * from final
