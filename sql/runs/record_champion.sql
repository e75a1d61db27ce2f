-- The model that scores a run, once the gate has decided.
update runs set champion_model = $champion_model where run_id = $run_id
