-- model_metrics: run x model x metric x k. Holdout quality of every candidate of every run.
create table release.model_metrics as
with metrics as (
    select * from main.model_metrics
),

final as (
    select run_id, model, metric, k, value, split, placement from metrics
)

select * from final order by run_id, model, metric, k
