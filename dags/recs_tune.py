"""
### recs_tune

Weekly (and on demand): tune the candidate models' hyperparameters with Optuna on a frozen snapshot of the
warehouse, one task per model. Studies persist in `outputs/optuna/journal.log`, so each run adds trials to
the same study; trials are recorded in the warehouse's `tuning_trials` table, and the best params of each
model (in `outputs/tuning/<model>.best.json`) are what `recs_nightly` trains with from then on.
Each task makes one call into `jobs/steps.py` (the code: `jobs/train/tune.py`).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task

from jobs.config import holdout_params, load_settings
from models.registry import MODELS

_settings = load_settings()


@dag(
    dag_id="recs_tune",
    # Weekly, Sunday 03:00 UTC, on the ratings up to the end of the week's interval.
    schedule=CronDataIntervalTimetable("0 3 * * 0", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=5)},
    tags=["recs", "tuning"],
    doc_md=__doc__,
    params={
        "models": Param(list(_settings.train.models), type="array", items={"type": "string", "enum": list(MODELS)},
                        title="Models to tune", description="Each model's study gets more trials.", section="Tuning"),
        **{name: Param(**spec) for name, spec in holdout_params(_settings).items()},
        "trials": Param(_settings.tune.trials, type="integer", minimum=1, maximum=1000, title="Trials per model",
                        description="New trials this run (the study keeps earlier ones).", section="Budget"),
        "minutes": Param(_settings.tune.minutes, type="number", minimum=0.5, maximum=720, title="Minutes per model",
                         description="Time budget per model: a trial running when it ends stops at its next "
                                     "epoch or fold (the first trial of a new study always finishes).",
                         section="Budget"),
    },
)
def recs_tune():
    @task
    def freeze_tuning_snapshot(params=None) -> dict:
        from jobs import steps

        return steps.freeze_tuning_snapshot(get_current_context().get("data_interval_end"), params)

    @task
    def tuning_models(params=None) -> list[str]:
        from jobs import steps

        return steps.tuning_models(params)

    @task(map_index_template="{{ map_label }}")
    def tune_model(model: str, params=None) -> dict:
        from jobs import steps

        get_current_context()["map_label"] = model
        return steps.tune_model(model, params)

    freeze_tuning_snapshot() >> tune_model.expand(model=tuning_models())


recs_tune()
