-- Every trial of a study (the registered frame study_trials) into tuning_trials.
insert into tuning_trials by name
select study, model, trial_number::integer as trial_number, state, value::double as value, params,
       started_at::timestamp as started_at, finished_at::timestamp as finished_at,
       train_seconds::double as train_seconds
from study_trials
