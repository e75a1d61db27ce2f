-- run_monitoring: run x metric. Every run's drift and run metrics against their thresholds (the whole history).
create table release.run_monitoring as
with monitoring as (
    select * from main.run_monitoring
),

final as (
    select run_id, metric, value, threshold, breached, direction, note, measured_at from monitoring
)

select * from final order by measured_at, run_id, metric
