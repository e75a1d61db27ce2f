-- How every candidate model did on the latest run's holdout, best nDCG@10 first.
with latest as (
    select run_id from runs where status = 'published' order by finished_at desc limit 1
),

final as (
    select metrics.model, metrics.metric, metrics.k, round(metrics.value, 4) as value
    from model_metrics as metrics
    join latest using (run_id)
    where metrics.metric in ('ndcg', 'precision', 'recall', 'map', 'coverage') and metrics.k = 10
)

pivot final on metric using first(value) order by ndcg desc
