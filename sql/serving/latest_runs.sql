-- The last runs as the published version records them (recs status).
select run_id, logical_date, status, users, items, champion_model, finished_at
from runs
order by started_at desc
limit 10
