-- One row per pipeline run (keyed by the orchestrator's run id), updated as the run progresses.
create table if not exists runs (
    run_id           varchar primary key,
    logical_date     date,
    as_of            timestamp,          -- ratings with rated_at < as_of are used (the data interval end)
    status           varchar not null,   -- running, published, failed, gated
    started_at       timestamp not null,
    finished_at      timestamp,
    rows_ingested    bigint,
    rows_quarantined bigint,
    users            bigint,
    items            bigint,
    champion_model   varchar,
    message          varchar
)
