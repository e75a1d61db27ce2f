-- The trials of a study are rewritten whole from its journal after each tuning run.
delete from tuning_trials where study = $study
