-- The report's section on the candidates the time budget skipped tonight (from the warehouse).
select model, round(estimated_seconds, 1) as fit_s, round(refit_seconds, 1) as refit_s, budget_seconds, reason
from skipped_candidates
where run_id = $run_id
order by model
