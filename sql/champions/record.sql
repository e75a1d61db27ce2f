-- Record (or replace, on a rerun) a run's champion/challenger decision.
insert or replace into champions (
    run_id, champion_model, champion_run_id, metric, champion_value,
    challenger_model, challenger_value, decision, reason, decided_at
)
values (
    $run_id, $champion_model, $champion_run_id, $metric, $champion_value,
    $challenger_model, $challenger_value, $decision, $reason, $decided_at
)
