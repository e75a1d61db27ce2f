-- Every candidate's holdout summary of a run (the registered frame candidate_metrics) into model_metrics.
insert into model_metrics by name
select run_id, model, metric, k::integer as k, value::double as value, 'holdout' as split
from candidate_metrics
