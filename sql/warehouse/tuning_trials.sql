-- Every Optuna trial of every tuning study (mirrors the persistent journal in outputs/optuna/).
create table if not exists tuning_trials (
    study          varchar not null,   -- '<model>:<metric>'
    model          varchar not null,
    trial_number   integer not null,
    state          varchar not null,   -- COMPLETE, PRUNED, FAIL, RUNNING, WAITING
    value          double,             -- the objective (the gate's metric on the holdout)
    params         varchar not null,   -- JSON of the config fields tried
    started_at     timestamp,
    finished_at    timestamp,
    train_seconds  double
)
