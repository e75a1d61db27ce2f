-- The champion/challenger decision of every run: which model serves, and why.
create table if not exists champions (
    run_id            varchar primary key,
    champion_model    varchar not null,
    champion_run_id   varchar not null,   -- the run whose trained artifact serves
    metric            varchar not null,
    champion_value    double,
    challenger_model  varchar,
    challenger_value  double,
    decision          varchar not null,   -- first, promoted, kept
    reason            varchar not null,
    decided_at        timestamp not null
)
