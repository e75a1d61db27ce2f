-- The champion/challenger decision of every run, with its reason.
select run_id, decided_at, champion_model, decision, challenger_model, metric, champion_value, challenger_value, reason
from champions
order by decided_at, run_id
