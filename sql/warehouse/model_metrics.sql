-- Offline quality of every model trained in a run, on the time-based holdout.
create table if not exists model_metrics (
    run_id  varchar not null,
    model   varchar not null,
    metric  varchar not null,   -- precision, recall, ndcg, map, coverage, rmse, mae, train_seconds
    k       integer,            -- the cutoff; null for metrics without one
    value   double,
    split   varchar not null    -- 'holdout'
)
