"""
### recs_nightly

Every night, in four task groups named like the code's folders (`jobs/ingest`, `jobs/train`, `jobs/score`,
`jobs/publish`):

- **ingest**: load new rating and item files from `landing/`, exactly once each;
- **train**: freeze the run's training snapshot, evaluate every candidate model on the holdout (one task each),
  let the champion/challenger gate choose, then fit the champion on all the data (a kept champion keeps its
  artifact);
- **score**: the popular items (the fallback), every user's lists in every placement under tonight's business
  rules (one task per user shard), similar items;
- **publish**: build and check the release aside, publish it atomically to `outputs/recs.duckdb` and
  `outputs/parquet/`, write the report.

Each run processes one data interval (the previous day, UTC); rerunning a day replaces that day's outputs
only. Manual triggers take the parameters below. Each task makes one call into `jobs/steps.py`.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, Param, TaskGroup, dag, get_current_context, task

from jobs.config import DEFAULT_PLACEMENT, holdout_params, load_settings
from models.registry import MODELS

_settings = load_settings()
#: Emitted when a new version of the recommendation tables is published; downstream DAGs can schedule on it.
RECOMMENDATIONS = Asset(name="recs_recommendations", uri=_settings.layout.serving.as_uri())
#: Celery/Kubernetes queue for training tasks (``[airflow] train_queue``, or RECS_TRAIN_QUEUE=gpu).
TRAIN_QUEUE = _settings.airflow.train_queue
#: The configured named placements (the default one is always filled).
_NAMED = [p.name for p in _settings.placements if p.name != DEFAULT_PLACEMENT]


def _on_failure(context) -> None:
    from jobs import steps

    steps.on_failure(context["run_id"], f"task {context['ti'].task_id} failed: {context.get('exception')}", context.get("params"))


def _name_mapped(label: str) -> None:
    """The label a mapped task instance shows in the UI instead of its index (``map_index_template``)."""
    get_current_context()["map_label"] = label


@dag(
    dag_id="recs_nightly",
    # A data interval per day, [D 00:00, D+1 00:00) UTC, run just after it closes.
    schedule=CronDataIntervalTimetable("0 0 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 11, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": _settings.airflow.retries,
                  "retry_delay": timedelta(seconds=_settings.airflow.retry_delay_seconds),
                  "on_failure_callback": _on_failure},
    dagrun_timeout=timedelta(hours=_settings.airflow.run_timeout_hours),
    tags=["recs", "nightly"],
    doc_md=__doc__,
    params={
        "top_n": Param(_settings.score.top_n, type="integer", minimum=1, maximum=1000, title="Recommendations per user",
                       description="How many items each user gets (N).", section="Output"),
        "models": Param(list(_settings.train.models), type="array", items={"type": "string", "enum": list(MODELS)},
                        title="Candidate models", section="Models",
                        description="Models evaluated tonight; the best becomes the challenger."),
        "placements": Param(_NAMED, type="array", items={"type": "string", **({"enum": _NAMED} if _NAMED else {})},
                            title="Placements", section="Output",
                            description="Named placements ([placements.*] in recs.toml) filled tonight besides the "
                                        "default one (the recommendations table)."),
        "diversity": Param(None, type=["null", "number"], minimum=0, maximum=1, title="Diversity override",
                           section="Output",
                           description="0 ranks by score; up to 1 trades score for variety (maximal marginal "
                                       "relevance) in every placement tonight. Empty: each placement's own."),
        "shards": Param(_settings.score.shards, type="integer", minimum=1, maximum=256, title="User shards",
                        description="Scoring fans out into this many parallel tasks.", section="Scale"),
        **{name: Param(**spec) for name, spec in holdout_params(_settings).items()},
        "force_publish": Param(False, type="boolean", title="Force publish",
                               description="Crown tonight's best model even if it is worse than the champion beyond the "
                                           "gate's tolerance, and skip the quality gate (coverage collapse, metric drop "
                                           "against the published version). The contract checks still apply.",
                               section="Models"),
    },
)
def recs_nightly():
    @task
    def ingest_files(params=None) -> dict:
        from jobs import steps

        return steps.ingest_files(params, run_id=get_current_context()["run_id"])

    @task
    def freeze_snapshot(params=None) -> dict:
        from jobs import steps

        ctx = get_current_context()
        return steps.freeze_snapshot(ctx["run_id"], ctx.get("data_interval_start"), ctx.get("data_interval_end"),
                                     params)

    @task
    def candidates(run: dict, params=None) -> list[str]:
        from jobs import steps

        return steps.candidates(run, params)

    @task(queue=TRAIN_QUEUE, map_index_template="{{ map_label }}")
    def evaluate_candidate(run: dict, model: str, params=None) -> dict:
        from jobs import steps

        _name_mapped(model)
        return steps.evaluate_candidate(run, model, params)

    @task
    def choose_champion(run: dict, params=None) -> dict:
        from jobs import steps

        return steps.choose_champion(run, params)

    @task(queue=TRAIN_QUEUE)
    def fit_champion(run: dict, champion: dict, params=None) -> dict:
        from jobs import steps

        return steps.fit_champion(run, champion, params)

    @task
    def popular_items(run: dict, params=None) -> dict:
        from jobs import steps

        return steps.popular_items(run, params)

    @task
    def shards(params=None) -> list[int]:
        from jobs import steps

        return steps.shards(params)

    @task(map_index_template="{{ map_label }}")
    def score_shard(run: dict, champion: dict, shard: int, params=None) -> dict:
        from jobs import steps

        _name_mapped(f"shard {shard + 1} of {params['shards']}")
        return steps.score_shard(run, champion, shard, params)

    @task
    def similar_items(run: dict, champion: dict, params=None) -> dict:
        from jobs import steps

        return steps.similar_items(run, champion, params)

    @task
    def build_release(run: dict, params=None) -> dict:
        from jobs import steps

        return steps.build_release(run, params)

    @task(outlets=[RECOMMENDATIONS])
    def publish(run: dict, params=None) -> dict:
        from jobs import steps

        return steps.publish(run, params)

    @task
    def write_report(run: dict, params=None) -> dict:
        from jobs import steps

        return steps.write_report(run, params)

    with TaskGroup("ingest"):
        ingested = ingest_files()
    with TaskGroup("train"):
        run = freeze_snapshot()
        ingested >> run
        evaluated = evaluate_candidate.partial(run=run).expand(model=candidates(run))
        chosen = choose_champion(run)
        champion = fit_champion(run, chosen)
        evaluated >> chosen
    with TaskGroup("score"):
        scored = [popular_items(run), score_shard.partial(run=run, champion=champion).expand(shard=shards()),
                  similar_items(run, champion)]
    with TaskGroup("publish"):
        built = build_release(run)
        published = publish(run)
        scored >> built >> published >> write_report(run)


recs_nightly()
