-- champions: run. The champion/challenger decision of every run, with its reason.
create table release.champions as
with champions as (
    select * from main.champions
),

final as (
    select
        run_id, champion_model, champion_run_id, metric, champion_value,
        challenger_model, challenger_value, decision, reason, decided_at,
        reigning_model, reigning_value, z, champion_params
    from champions
)

select * from final order by decided_at
