"""Train one candidate model for a run and evaluate it on the time-based holdout; refit the winner on everything.

``train_candidate``: one call per model, so Airflow can fan candidates out over workers
(``train_candidate.expand(model=...)``). Each call writes only its own files under ``outputs/runs/<run>/``:
``metrics/<model>.json`` (holdout summary, params, timings) and ``metrics/<model>.users.parquet`` (the champion
metric per holdout user, for the gate's noise estimate).

``fit_final``: after the gate, only tonight's champion is refitted on all data, with the params it was judged
with, into ``models/<model>.pkl`` (the artifact that scores). A losing candidate's refit would be thrown away:
on MovieLens-100K with every family a candidate, those refits were half the night.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from jobs.config import Settings
from jobs.runs import RunContext
from jobs.snapshot import load_snapshot
from models.base import Recommender, TrainOptions
from models.evaluation import evaluate, temporal_split
from models.registry import build

log = logging.getLogger("recs.train")


def metrics_path(run_dir: Path, model: str) -> Path:
    return run_dir / "metrics" / f"{model}.json"


def per_user_path(run_dir: Path, model: str) -> Path:
    return run_dir / "metrics" / f"{model}.users.parquet"


def artifact_path(run_dir: Path, model: str) -> Path:
    return run_dir / "models" / f"{model}.pkl"


def best_params_path(settings: Settings, model: str) -> Path:
    """Where tuning leaves a model's best params (read by every nightly run)."""
    return settings.outputs_dir / "tuning" / f"{model}.best.json"


def best_params(settings: Settings, model: str) -> dict[str, Any]:
    path = best_params_path(settings, model)
    if not path.exists():
        return {}
    return json.loads(path.read_text())["params"]


def fit_timed(model: Recommender, data: Any, options: TrainOptions) -> float:
    started = time.perf_counter()
    model.fit(data, options)
    return time.perf_counter() - started


def train_candidate(settings: Settings, run: RunContext, model: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Evaluate ``model`` on the run's holdout (its metrics record); returns a small summary."""
    run_dir = run.dir(settings)
    snapshot = load_snapshot(run_dir)
    params = best_params(settings, model) if params is None else params
    options = TrainOptions(seed=settings.train.seed)

    split = temporal_split(snapshot.data, snapshot.rated_at, settings.train.holdout_fraction,
                           settings.train.holdout_scope)
    holdout_model = build(model, params)
    train_seconds = fit_timed(holdout_model, split.train, options)
    per_user, summary = evaluate(holdout_model, split, settings.evaluate.cutoffs, settings.score.chunk_users)
    summary.loc[len(summary)] = {"metric": "train_seconds", "k": None, "value": train_seconds}

    record = {
        "model": model,
        "params": holdout_model.config.to_dict(),
        "metrics": summary.astype(object).where(summary.notna(), None).to_dict("records"),
        "holdout_cut_at": split.cut_at,
        "train_seconds": train_seconds,
    }
    out = metrics_path(run_dir, model)
    out.parent.mkdir(parents=True, exist_ok=True)
    metric = settings.train.champion_metric
    if metric in per_user:
        users_out = per_user_path(run_dir, model)
        per_user[["user_index", metric]].to_parquet(users_out.with_suffix(".tmp"), index=False)
        users_out.with_suffix(".tmp").replace(users_out)
    _write_record(out, record)
    headline = summary[(summary["metric"] == "ndcg") & (summary["k"] == min(settings.evaluate.cutoffs))]["value"]
    log.info("%s: trained in %.1fs on the training split; ndcg@%d=%.4f", model, train_seconds,
             min(settings.evaluate.cutoffs), float(headline.iloc[0]) if len(headline) else float("nan"))
    return {"model": model, "metrics_file": str(out), "train_seconds": round(train_seconds, 3)}


def fit_final(settings: Settings, run: RunContext, model: str) -> dict[str, Any]:
    """Refit ``model`` on all of the run's data with the params it was evaluated with; save its artifact."""
    run_dir = run.dir(settings)
    path = metrics_path(run_dir, model)
    record = json.loads(path.read_text())
    final_model = build(model, record["params"])
    final_seconds = fit_timed(final_model, load_snapshot(run_dir).data, TrainOptions(seed=settings.train.seed))
    artifact = final_model.save(artifact_path(run_dir, model))
    _write_record(path, {**record, "final_train_seconds": final_seconds})
    log.info("%s: refitted on all data in %.1fs", model, final_seconds)
    return {"model": model, "artifact": str(artifact), "final_train_seconds": round(final_seconds, 3)}


def _write_record(path: Path, record: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(path)


def load_metrics(run_dir: Path) -> dict[str, dict[str, Any]]:
    """Every candidate's metrics record of a run, by model name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted((run_dir / "metrics").glob("*.json"))}
