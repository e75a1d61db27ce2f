"""
### recs_nightly

Every night: ingest new rating files from `landing/`, freeze a training snapshot of the previous day's
warehouse, train and evaluate the candidate models (one task each), pick the champion through the
champion/challenger gate, refit the champion on all the data (a kept champion keeps its artifact), score every
user (one task per user shard), compute similar items, check the outputs, publish them atomically to
`outputs/recs.duckdb` and `outputs/parquet/`, and write a report.

Each run processes one data interval (the previous day, UTC); rerunning a day replaces that day's outputs
only. Manual triggers take the parameters below. Task code lives in `jobs/` (see `jobs/tasks.py`).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, dag, get_current_context, task

from jobs.config import load_settings

_settings = load_settings()
#: Emitted when a new version of the recommendation tables is published; downstream DAGs can schedule on it.
RECOMMENDATIONS = Asset(name="recs_recommendations", uri=_settings.serving_path.as_uri())
#: Celery/Kubernetes queue for training tasks: point it at GPU workers with RECS_TRAIN_QUEUE=gpu.
TRAIN_QUEUE = os.environ.get("RECS_TRAIN_QUEUE", "default")


def _on_failure(context) -> None:
    from jobs.tasks import on_failure

    on_failure(context["run_id"], f"task {context['ti'].task_id} failed: {context.get('exception')}", context.get("params"))


@dag(
    dag_id="recs_nightly",
    # A data interval per day, [D 00:00, D+1 00:00) UTC, run just after it closes.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "on_failure_callback": _on_failure},
    dagrun_timeout=timedelta(hours=6),
    tags=["recs", "nightly"],
    doc_md=__doc__,
    params={
        "top_n": Param(_settings.score.top_n, type="integer", minimum=1, maximum=1000, title="Recommendations per user",
                       description="How many items each user gets (N).", section="Output"),
        "models": Param(list(_settings.train.models), type="array", items={"type": "string"}, title="Candidate models",
                        description="Models trained and evaluated tonight; the best becomes the challenger. "
                                    "Known: popularity, ease, itemknn, ials, bpr, biased_mf, two_tower, content_tfidf, hybrid.",
                        section="Models"),
        "shards": Param(_settings.score.shards, type="integer", minimum=1, maximum=256, title="User shards",
                        description="Scoring fans out into this many parallel tasks.", section="Scale"),
        "force_publish": Param(False, type="boolean", title="Force publish",
                               description="Crown tonight's best model even if it is worse than the champion beyond the "
                                           "gate's tolerance, and skip the quality gate (coverage collapse, metric drop "
                                           "against the published version). The contract checks still apply.",
                               section="Models"),
    },
)
def recs_nightly():
    @task
    def run_context() -> dict:
        from jobs.tasks import run_context

        ctx = get_current_context()
        return run_context(ctx["run_id"], ctx.get("data_interval_start"), ctx.get("data_interval_end"))

    @task
    def ingest(params=None) -> dict:
        from jobs.tasks import ingest

        return ingest(params)

    @task
    def prepare(run: dict, ingested: dict, params=None) -> dict:
        from jobs.tasks import prepare

        return prepare(run, ingested, params)

    @task
    def candidates(params=None) -> list[str]:
        from jobs.tasks import candidates

        return candidates(params)

    @task(queue=TRAIN_QUEUE)
    def train(prepared: dict, model: str, params=None) -> dict:
        from jobs.tasks import train_candidate

        return train_candidate(prepared, model, params)

    @task
    def choose_champion(prepared: dict, trained: list, params=None) -> dict:
        from jobs.tasks import choose_champion

        return choose_champion(prepared, params)

    @task(queue=TRAIN_QUEUE)
    def fit_champion(prepared: dict, champion: dict, params=None) -> dict:
        from jobs.tasks import fit_champion

        return fit_champion(prepared, champion, params)

    @task
    def shards(params=None) -> list[int]:
        from jobs.tasks import shards

        return shards(params)

    @task
    def score(prepared: dict, champion: dict, shard: int, params=None) -> dict:
        from jobs.tasks import score_shard

        return score_shard(prepared, champion, shard, params)

    @task
    def similar_items(prepared: dict, champion: dict, params=None) -> dict:
        from jobs.tasks import similar_items

        return similar_items(prepared, champion, params)

    @task
    def check_outputs(prepared: dict, scored: list, similar: dict, params=None) -> dict:
        from jobs.tasks import build_and_check

        return build_and_check(prepared, params)

    @task(outlets=[RECOMMENDATIONS])
    def publish(prepared: dict, checked: dict, params=None) -> dict:
        from jobs.tasks import publish

        return publish(prepared, params)

    @task
    def report(prepared: dict, published: dict, params=None) -> dict:
        from jobs.tasks import report

        return report(prepared, params)

    prepared = prepare(run_context(), ingest())
    trained = train.partial(prepared=prepared).expand(model=candidates())
    champion = fit_champion(prepared, choose_champion(prepared, trained))
    scored = score.partial(prepared=prepared, champion=champion).expand(shard=shards())
    checked = check_outputs(prepared, scored, similar_items(prepared, champion))
    report(prepared, publish(prepared, checked))


recs_nightly()
