-- The report's champion section: the gate's decision and why.
select champion_model, champion_run_id, decision, reason
from champions
where run_id = $run_id
