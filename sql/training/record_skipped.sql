-- One candidate the night's time budget kept from training tonight, with its estimates and why.
insert into skipped_candidates (run_id, model, estimated_seconds, refit_seconds, budget_seconds, reason)
values ($run_id, $model, $estimated_seconds, $refit_seconds, $budget_seconds, $reason)
