"""Every DAG file imports cleanly and follows the house rules (tags, retries, thin modules, typed params)."""

import ast

import pytest

from tests.support import ROOT

DAGS = ROOT / "dags"


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory, monkeypatch_module):
    monkeypatch_module.setenv("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    monkeypatch_module.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {"recs_nightly"} <= set(dagbag.dag_ids)


def test_every_dag_has_tags_docs_and_retries(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        assert dag.doc_md, dag.dag_id
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id} has no retries"


def test_nightly_shape(dagbag):
    dag = dagbag.dags["recs_nightly"]
    assert dag.max_active_runs == 1
    assert type(dag.timetable).__name__ == "CronDataIntervalTimetable"
    assert dag.get_task("publish.publish").outlets, "publishing must emit an Asset"
    # Evaluation and scoring fan out with dynamic task mapping (their names: test_every_mapped_task_is_named).
    for task_id in ("train.evaluate_candidate", "score.score_shard"):
        assert dag.get_task(task_id).is_mapped, task_id
    for name in ("top_n", "models", "shards", "force_publish", "holdout_scope", "holdout_stratify", "placements",
                 "diversity"):
        param = dag.params.get_param(name)
        assert param.schema.get("type") and param.schema.get("title") and param.schema.get("section"), name
    assert dag.params.get_param("top_n").schema["minimum"] == 1
    # Placements to fill tonight: the configured named ones; a diversity override in [0, 1], empty by default.
    assert dag.params.get_param("placements").schema["items"]["enum"] == ["comedy"]
    diversity = dag.params.get_param("diversity").schema
    assert (diversity["minimum"], diversity["maximum"], dag.params["diversity"]) == (0, 1, None)
    for dag_id in ("recs_nightly", "recs_tune"):
        params = dagbag.dags[dag_id].params
        assert params.get_param("holdout_scope").schema["enum"] == ["global", "user", "random"]
        assert params.get_param("holdout_stratify").schema["enum"] == ["user", "item"]
    from models.registry import MODELS

    assert dag.params.get_param("models").schema["items"]["enum"] == list(MODELS)


def test_every_mapped_task_is_named(dagbag):
    """The UI shows a mapped instance by its model or "shard i of n", not as [0] [1] [2]: every mapped task of
    every DAG has a map_index_template (tests/e2e/test_airflow_nightly.py checks the names a real run records)."""
    mapped = {(dag.dag_id, task.task_id): task for dag in dagbag.dags.values() for task in dag.tasks if task.is_mapped}
    assert {("recs_nightly", "train.evaluate_candidate"), ("recs_nightly", "score.score_shard"),
            ("recs_tune", "tune_model")} <= set(mapped)
    for key, task in mapped.items():
        assert task.partial_kwargs.get("map_index_template"), f"{key} has no map_index_template"


def test_task_groups_are_the_folders_of_jobs_and_order_by_dependencies(dagbag):
    dag = dagbag.dags["recs_nightly"]
    groups = {task_id.split(".")[0] for task_id in dag.task_ids}
    assert groups == {"ingest", "train", "score", "publish"}
    assert all((ROOT / "jobs" / group).is_dir() for group in groups)
    # Each task is named like the step it calls (jobs/steps.py), and no task takes an argument only to be ordered.
    from jobs import steps

    for task_id in dag.task_ids:
        assert hasattr(steps, task_id.split(".")[1]), task_id
    build = dag.get_task("publish.build_release")
    assert {"score.score_shard", "score.similar_items", "score.popular_items"} <= build.upstream_task_ids
    assert "train.evaluate_candidate" in dag.get_task("train.choose_champion").upstream_task_ids


@pytest.mark.parametrize("path", sorted(DAGS.glob("*.py")), ids=lambda p: p.name)
def test_dag_modules_import_nothing_heavy_at_top_level(path):
    heavy = {"torch", "pandas", "numpy", "duckdb", "scipy", "sklearn", "optuna", "pyarrow"}
    tree = ast.parse(path.read_text())
    for node in tree.body:  # module level only; task bodies import lazily
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            assert name.split(".")[0] not in heavy, f"{path.name} imports {name} at module level"
            if name.startswith("jobs.") and name != "jobs.config":
                pytest.fail(f"{path.name} imports {name} at module level; import it inside the task")
