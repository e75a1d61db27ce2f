-- Candidates the nightly's time budget ([train] night_budget_minutes) skipped, per run (jobs.train.budget).
create table if not exists skipped_candidates (
    run_id             varchar not null,
    model              varchar not null,
    estimated_seconds  double,            -- one fit on the holdout's training part (models.cost)
    refit_seconds      double,            -- the champion's refit on all the data
    budget_seconds     double,
    reason             varchar not null
)
