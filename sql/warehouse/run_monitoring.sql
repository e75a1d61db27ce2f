-- Drift and run monitoring: one row per run x metric, measured by build_release (sql/monitoring/*.sql) against
-- the thresholds of [monitoring] in recs.toml. A rerun of a run replaces that run's rows.
create table if not exists run_monitoring (
    run_id       varchar not null,
    metric       varchar not null,   -- psi_rating, new_ratings, new_user_share, new_item_share, churn, gini,
                                     -- coverage, fallback_users, fallback_share
    value        double,             -- null when it cannot be measured (note says why)
    threshold    double,             -- null: the metric has no threshold
    breached     boolean not null,   -- value > threshold (direction 'max') or < threshold ('min')
    direction    varchar,            -- 'max' or 'min'; null without a threshold
    note         varchar,            -- why a value is null, the interval measured, a night without new ratings
    measured_at  timestamp not null
)
