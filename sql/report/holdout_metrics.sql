-- The report's metrics section: one row per candidate, one column per metric@k (PIVOT takes no parameters:
-- the run id is filled in as a quoted literal).
pivot (
    select model, metric || coalesce('@' || k, '') as metric, value
    from model_metrics
    where run_id = {{ run_id }}
      and split = 'holdout'
      and metric in ('precision', 'recall', 'ndcg', 'map', 'coverage', 'ild', 'novelty', 'rmse', 'train_seconds')
)
on metric using first(value)
order by model
