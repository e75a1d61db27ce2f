-- How long each step of each run took, from the records the steps leave in runs/<run>/steps/ (jobs/steps.py's
-- _step), loaded by build_release. One row per run x step x label (the last successful attempt's).
create table if not exists run_steps (
    run_id       varchar not null,
    step         varchar not null,   -- the jobs/steps.py function: freeze_snapshot, evaluate_candidate, ...
    label        varchar,            -- the shard (score_shard), the model (evaluate_candidate); null otherwise
    started_at   timestamp not null,
    finished_at  timestamp not null,
    seconds      double not null     -- wall-clock seconds the attempt took
)
