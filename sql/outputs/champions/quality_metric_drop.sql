-- The serving model's offline quality must not drop far below that of the version published now.
with tonight as (
    select metric, champion_value from release.champions where run_id = $run_id
),

published as (
    select metric, champion_value from previous.champions where run_id = $previous_run_id
),

final as (
    select tonight.metric, tonight.champion_value as tonight, published.champion_value as published
    from tonight
    join published using (metric)
    where tonight.champion_value < published.champion_value - abs(published.champion_value) * $max_metric_drop
)

select * from final
