-- Each placement's published-list figures (the registered frame list_metrics) into model_metrics.
insert into model_metrics by name
select run_id, model, metric, k::integer as k, value::double as value, 'published' as split, placement
from list_metrics
