-- Holdout nDCG, recall and coverage at k = 10 of every candidate of every run (the quality plots).
select run_id, model, metric, value
from model_metrics
where split = 'holdout' and k = 10 and metric in ('ndcg', 'recall', 'coverage')
order by run_id, model, metric
