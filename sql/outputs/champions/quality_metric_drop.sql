-- The serving configuration's offline quality must not drop far below the reigning champion's, judged on the
-- same holdout tonight (comparing with the value the published version had on an earlier night's holdout would
-- fail a harder night and pass an easier one). Only a forced run can serve a configuration that far behind.
with tonight as (
    select metric, champion_model, champion_value, reigning_model, reigning_value
    from release.champions
    where run_id = $run_id
),

final as (
    select *
    from tonight
    where reigning_value is not null
      and champion_value < reigning_value - abs(reigning_value) * $max_metric_drop
)

select * from final
