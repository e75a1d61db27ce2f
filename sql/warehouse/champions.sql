-- The champion/challenger decision of every run: which configuration serves, and why.
create table if not exists champions (
    run_id            varchar primary key,
    champion_model    varchar not null,
    champion_run_id   varchar not null,   -- the run whose trained artifact serves
    metric            varchar not null,
    champion_value    double,             -- the serving configuration's metric on this run's holdout
    challenger_model  varchar,
    challenger_value  double,
    decision          varchar not null,   -- first, promoted, retained, kept
    reason            varchar not null,
    decided_at        timestamp not null,
    champion_params   varchar,            -- JSON: the serving configuration's params (the next gate's reigning one)
    reigning_model    varchar,            -- the previous champion, judged on this run's holdout (null: first run)
    reigning_value    double,
    z                 double              -- challenger minus reigning, in standard errors of the paired per-user gain
)
