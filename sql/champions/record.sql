-- Record (or replace, on a rerun) a run's champion/challenger decision.
insert or replace into champions (
    run_id, champion_model, champion_run_id, metric, champion_value,
    challenger_model, challenger_value, decision, reason, decided_at,
    champion_params, reigning_model, reigning_value, z
)
values (
    $run_id, $champion_model, $champion_run_id, $metric, $champion_value,
    $challenger_model, $challenger_value, $decision, $reason, $decided_at,
    $champion_params, $reigning_model, cast($reigning_value as double), cast($z as double)
)
