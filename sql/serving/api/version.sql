-- Which run this published file holds (its lists' run_id), that run's day and champion, and the placements it
-- filled (those with empty lists included: their published figures are in model_metrics).
with version as (
    select run_id from popular_items
    union all
    select run_id from recommendations
    limit 1
),
final as (
    select version.run_id, runs.logical_date as run_date, runs.champion_model,
           (select list(distinct placement order by placement) from (
                select placement from placement_recommendations
                union all
                select placement from model_metrics
                where run_id = version.run_id and split = 'published' and placement is not null
            )) as placements
    from version
    left join runs using (run_id)
)
select * from final
