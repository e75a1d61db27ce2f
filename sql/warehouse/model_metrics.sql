-- Offline quality of every model trained in a run on the run's holdout (split 'holdout'), and the figures of
-- the lists each placement published (split 'published': diversity, novelty, what the rules removed).
create table if not exists model_metrics (
    run_id  varchar not null,
    model   varchar not null,
    metric  varchar not null,   -- precision, recall, ndcg, map, coverage, ild, novelty, rmse, mae, train_seconds;
                                -- published: ild, novelty, coverage, lists, eligible_items, removed_by_rules,
                                -- filtered_out, promoted_rows
    k       integer,            -- the cutoff; null for metrics without one
    value   double,
    split   varchar not null,   -- 'holdout' or 'published'
    placement varchar           -- published: the placement; null for holdout rows
)
