"""``python -m jobs.bench.executors``: the same night in process, on LocalExecutor and on Celery with two workers.

What fan-out costs and buys on one machine. One data set (``--size``, 5M by default, as ``make bench`` makes it),
one fresh RECS_HOME per way of running it, the history ingested beforehand, then the night (ingest the last day's
file, train popularity and iALS with the stored params, score every user's top-100, similar items, release,
publish) run three ways:

1. in process: ``run_nightly``, as ``recs run`` does (``jobs.bench.night``, one shard);
2. ``recs_nightly`` on the native stack (``jobs.stack``) with LocalExecutor on PostgreSQL, ``--shards`` shards;
3. the same DAG on the CeleryExecutor with two workers of ``--concurrency`` slots each, ``--shards`` shards.

Both Airflow runs have the same number of task slots (``[core] parallelism`` = 2 workers x concurrency). Per step, the
table gives each task's duration from Airflow's own records (for the shards: the longest one, and their sum), and
the run's wall time from its start to its end. The section goes into ``--out`` between
``<!-- executors:start -->`` and ``<!-- executors:end -->``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jobs.bench.data import dataset, fresh_home, land_day
from jobs.bench.page import machine_text, write_section

START, END = "<!-- executors:start -->", "<!-- executors:end -->"
DAG = "recs_nightly"


def _prepared_home(size: str, root: Path, name: str) -> Path:
    """A fresh home with the history and items ingested and the day's file landed: what the night starts from."""
    from jobs.config import load_settings
    from jobs.ingest import ingest_paths

    data = dataset(size, root)
    home = fresh_home(data, root / name)
    settings = load_settings(home)
    ingest_paths(settings, [home / "landing" / "ratings" / data.history.name])
    ingest_paths(settings, [home / "landing" / "items" / data.items_file.name], kind="items")
    land_day(data, home)
    return home


def _seconds(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def airflow_night(size: str, root: Path, executor: str, shards: int, concurrency: int) -> dict[str, Any]:
    from jobs.stack.airflow import ADMIN_USER, StackConfig, down, up
    from jobs.stack.api import AirflowAPI
    from jobs.stack.services import free_port

    home = _prepared_home(size, root, executor)
    # The stack's folder must be reachable by the postgres user (PostgreSQL refuses to run as root).
    state = Path(tempfile.mkdtemp(prefix=f"recs-bench-{executor}-"))
    state.chmod(0o755)
    slots = str(2 * concurrency)
    config = StackConfig(state=state / "stack", home=home, api_port=free_port(), executor=executor,
                         concurrency=concurrency,
                         extra_env={"AIRFLOW__CORE__PARALLELISM": slots, "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": slots})
    try:
        up(config)
        api = AirflowAPI(config.base_url, ADMIN_USER, config.password())
        api.wait_for_dag(DAG)
        # The last complete interval, which is also what the scheduler would add on unpausing: it adds nothing.
        logical = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
        run_id = api.trigger(DAG, logical.isoformat(),
                             {"models": ["popularity", "ials"], "top_n": 100, "shards": shards})
        api.unpause(DAG)
        run = api.wait(DAG, run_id, timeout=3600)
        tis = api.task_instances(DAG, run_id)
    finally:
        down(config)
        shutil.rmtree(state, ignore_errors=True)
    if run["state"] != "success":
        raise RuntimeError(f"the {executor} run ended {run['state']}: {[(t['task_id'], t['state']) for t in tis]}")
    steps: dict[str, dict[str, float]] = {}
    for ti in tis:
        step = steps.setdefault(ti["task_id"].split(".", 1)[1], {"max": 0.0, "sum": 0.0, "n": 0})
        step["max"] = max(step["max"], ti["duration"])
        step["sum"] += ti["duration"]
        step["n"] += 1
    hosts = sorted({ti["hostname"] for ti in tis if ti["task_id"] == "score.score_shard"})
    return {"executor": executor, "shards": shards, "wall_seconds": _seconds(run["start_date"], run["end_date"]),
            "task_seconds": sum(ti["duration"] for ti in tis), "steps": steps, "shard_hosts": hosts}


def in_process_night(size: str, root: Path) -> dict[str, Any]:
    out = root / f"night-{size}.json"
    subprocess.run([sys.executable, "-m", "jobs.bench.night", "--size", size, "--root", str(root),
                    "--out", str(out)], check=True)
    night = json.loads(out.read_text())
    return {"wall_seconds": night["night_seconds"], "steps": {r["step"]: r["seconds"] for r in night["steps"]}}


ROWS = [  # (label, DAG task, jobs.bench.night step)
    ("ingest the day's file", "ingest_files", "ingest (the day's file)"),
    ("freeze snapshot", "freeze_snapshot", "freeze snapshot"),
    ("evaluate candidates (each)", "evaluate_candidate", None),
    ("choose champion", "choose_champion", "choose champion"),
    ("fit champion (all data)", "fit_champion", "fit champion"),
    ("popular items", "popular_items", "popular items"),
    ("score shards (longest / sum)", "score_shard", None),
    ("similar items", "similar_items", "similar items"),
    ("build + check release", "build_release", "build + check release"),
    ("publish", "publish", "publish"),
    ("report", "write_report", "report"),
]


def _cell(step: dict[str, float] | None, both: bool = False) -> str:
    if not step:
        return "–"
    return f"{step['max']:.1f} / {step['sum']:.1f}" if both and step["n"] > 1 else f"{step['max']:.1f}"


def render(size: str, process: dict, local: dict, celery: dict, concurrency: int) -> str:
    evaluate = sum(v for k, v in process["steps"].items() if k.startswith("evaluate candidate"))
    score = sum(v for k, v in process["steps"].items() if k.startswith("score shard"))
    lines = [
        START,
        f"## Executors: the {size} night in process, on LocalExecutor and on Celery",
        "",
        f"`python -m jobs.bench.executors --size {size}` on {machine_text()}, "
        f"{datetime.now(UTC).date().isoformat()}. The same night three ways: in process (`run_nightly`, one shard), "
        f"then `recs_nightly` triggered over the REST API on the native stack (`jobs.stack`, PostgreSQL metadata) "
        f"with LocalExecutor and with the CeleryExecutor and two workers ({concurrency} slots each, Redis broker), "
        f"{celery['shards']} shards and {2 * concurrency} task slots for both. Seconds per step from Airflow's task "
        "records (task durations include each task process's start-up); the run's wall time from its start to its end.",
        "",
        f"| step | in process | LocalExecutor, {local['shards']} shards | Celery, 2 workers, {celery['shards']} shards |",
        "|---|---|---|---|",
    ]
    for label, task, night_step in ROWS:
        if task == "evaluate_candidate":
            here = f"{evaluate:.1f} (both)"
        elif task == "score_shard":
            here = f"{score:.1f} (1 shard)"
        else:
            here = f"{process['steps'].get(night_step, 0.0):.1f}"
        lines.append(f"| {label} | {here} | {_cell(local['steps'].get(task), True)} | "
                     f"{_cell(celery['steps'].get(task), True)} |")
    lines += [
        f"| **the night, wall** | **{process['wall_seconds']:.1f}** | **{local['wall_seconds']:.1f}** | "
        f"**{celery['wall_seconds']:.1f}** |",
        f"| sum of task durations | – | {local['task_seconds']:.1f} | {celery['task_seconds']:.1f} |",
        "",
        f"Shards ran on: {', '.join(celery['shard_hosts'])}.",
        END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.executors", description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="5M")
    parser.add_argument("--root", type=Path, default=Path("outputs/bench"))
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2, help="slots per Celery worker")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    root = args.root.resolve() / "executors"
    process = in_process_night(args.size, root)
    local = airflow_night(args.size, root, "local", args.shards, args.concurrency)
    celery = airflow_night(args.size, root, "celery", args.shards, args.concurrency)
    (root / "executors.json").write_text(json.dumps({"process": process, "local": local, "celery": celery}, indent=2))
    write_section(args.out, render(args.size, process, local, celery, args.concurrency), START, END)
    print(render(args.size, process, local, celery, args.concurrency))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
