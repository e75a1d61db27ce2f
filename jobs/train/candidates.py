"""Evaluate each candidate model on the run's holdout; after the gate, fit the champion on all the data.

``evaluate_candidate``: one call per model, so Airflow can fan candidates out over workers
(``evaluate_candidate.expand(model=...)``). It fits the model on the holdout's training part and evaluates it
on the holdout, writing only its own files under ``outputs/runs/<run>/``: ``metrics/<model>.json`` (holdout
summary, params, timings) and ``metrics/<model>.users.parquet`` (the champion metric per holdout user, for the
gate's noise estimate).

``fit_champion``: after the gate, only tonight's champion is refitted on all data, with the params it was
judged with, into ``models/<model>.pkl`` (the artifact that scores); a model that refits from its holdout fit
(``Recommender.warm_refit``: iALS starts from those factors) finds it in ``models/holdout/<key>.pkl``. A losing candidate's refit would be thrown
away: on MovieLens-100K with every family a candidate, those refits were half the night.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import fields
from typing import Any

import numpy as np

from jobs.config import Settings
from jobs.files import replacing, write_json, write_parquet
from jobs.layout import RunFiles
from jobs.records import RunContext
from jobs.train.snapshot import Snapshot, load_snapshot
from models.base import Recommender, TrainOptions
from models.evaluation import evaluate, train_item_vectors
from models.registry import build, model_class
from models.splits import Split, holdout_split

log = logging.getLogger("recs.train")


def best_params(settings: Settings, model: str) -> dict[str, Any]:
    """The params tuning left for ``model`` (``outputs/tuning/<model>.best.json``); {} = the config defaults."""
    path = settings.layout.best_params(model)
    if not path.exists():
        return {}
    return json.loads(path.read_text())["params"]


def candidate_params(settings: Settings, model: str) -> dict[str, Any]:
    """The params a candidate trains with tonight: its tuned ones; a stacking model's bases (a config with
    ``base_models`` and ``base_params``: the hybrid) also train with theirs, where its own params name none."""
    params = dict(best_params(settings, model))
    config_fields = {f.name for f in fields(model_class(model).config_class)}
    if {"base_models", "base_params"} <= config_fields:
        defaults = model_class(model).config_class()
        bases = params.get("base_models", defaults.base_models)
        given = params.get("base_params", defaults.base_params)
        tuned = {base: best_params(settings, base) for base in bases if base != model}
        params["base_params"] = {**{b: p for b, p in tuned.items() if p}, **given}
    return params


def train_options(settings: Settings) -> TrainOptions:
    """The options every fit of a run uses: the configured seed, device and holdout protocol."""
    return TrainOptions(seed=settings.train.seed, device=settings.train.device or None,
                        holdout_scope=settings.train.holdout_scope)


def holdout(settings: Settings, snapshot: Snapshot, fold: int = 0) -> Split:
    """The run's holdout in the configured protocol (``[train] holdout_scope``); fold > 0 for tuning."""
    train = settings.train
    return holdout_split(snapshot.data, snapshot.rated_at, train.holdout_fraction, train.holdout_scope,
                         train.holdout_stratify, train.seed, fold)


def fit_timed(model: Recommender, data: Any, options: TrainOptions, previous: Recommender | None = None) -> float:
    """Seconds to ``fit`` ``model`` on ``data``, or to ``refit`` it from ``previous`` when given."""
    started = time.perf_counter()
    if previous is None:
        model.fit(data, options)
    else:
        model.refit(data, previous, options)
    return time.perf_counter() - started


def evaluate_candidate(settings: Settings, run: RunContext, model: str, params: dict[str, Any] | None = None,
                       key: str | None = None) -> dict[str, Any]:
    """Fit ``model`` (with ``params``, by default its tuned ones) on the holdout's training part and evaluate it on
    the holdout, filed as ``metrics/<key>`` (default: the model's name); returns a small summary."""
    files = settings.layout.run(run.key)
    key = key or model
    snapshot = load_snapshot(files)
    params = candidate_params(settings, model) if params is None else params
    split = holdout(settings, snapshot)
    holdout_model = build(model, params)
    train_seconds = fit_timed(holdout_model, split.train, train_options(settings))
    per_user, summary = evaluate(holdout_model, split, settings.evaluate.cutoffs, settings.score.chunk_users,
                                 item_vectors=holdout_item_vectors(files, split))
    summary.loc[len(summary)] = {"metric": "train_seconds", "k": None, "value": train_seconds}

    record = {
        "model": model,
        "key": key,
        "protocol": settings.train.protocol,
        "params": holdout_model.config.to_dict(),
        "metrics": summary.astype(object).where(summary.notna(), None).to_dict("records"),
        "holdout_cut_at": split.cut_at,
        "train_seconds": train_seconds,
    }
    if holdout_model.warm_refit:  # the champion's refit starts from it (fit_champion)
        with replacing(files.holdout_artifact(key)) as tmp:
            holdout_model.save(tmp)
    metric = settings.train.champion_metric
    if metric in per_user:
        write_parquet(per_user[["user_index", metric]], files.per_user_file(key))
    write_json(files.metrics_file(key), record)
    headline = summary[(summary["metric"] == "ndcg") & (summary["k"] == min(settings.evaluate.cutoffs))]["value"]
    log.info("%s: trained in %.1fs on the training split, judged on %s; ndcg@%d=%.4f", key, train_seconds,
             settings.train.protocol, min(settings.evaluate.cutoffs),
             float(headline.iloc[0]) if len(headline) else float("nan"))
    return {"model": model, "key": key, "metrics_file": str(files.metrics_file(key)),
            "train_seconds": round(train_seconds, 3)}


def holdout_item_vectors(files: RunFiles, split: Split) -> np.ndarray:
    """The item embeddings of the holdout's training matrix that the diversity metrics use, computed by the run's
    first candidate and read by the others: each candidate runs in its own task, and the SVD (seconds at
    MovieLens-20M) would otherwise be repeated by every one. The split is the same for all (``holdout``)."""
    vectors = saved_item_vectors(files, split.train.n_items)
    if vectors is not None:
        return vectors
    vectors = train_item_vectors(split.train.matrix)
    with replacing(files.holdout_item_vectors) as tmp, tmp.open("wb") as out:
        np.save(out, vectors)
    return vectors


def saved_item_vectors(files: RunFiles, n_items: int) -> np.ndarray | None:
    """The holdout's item embeddings an earlier candidate of this run saved (``holdout_item_vectors``), or None
    when none was saved or they are for another number of items."""
    path = files.holdout_item_vectors
    if not path.exists():
        return None
    vectors = np.load(path)
    return vectors if vectors.shape[0] == n_items else None


def fit_champion(settings: Settings, run: RunContext, candidate: str) -> dict[str, Any]:
    """Refit the configuration of ``metrics/<candidate>`` on all of the run's data with the params it was judged
    with; save its artifact as ``models/<model>.pkl``."""
    files = settings.layout.run(run.key)
    path = files.metrics_file(candidate)
    record = json.loads(path.read_text())
    model = record["model"]
    final_model = build(model, record["params"])
    options, kept = train_options(settings), files.holdout_artifact(candidate)
    previous = Recommender.load(kept, device=options.device) if final_model.warm_refit and kept.exists() else None
    final_seconds = fit_timed(final_model, load_snapshot(files).data, options, previous)
    with replacing(files.artifact(model)) as tmp:
        final_model.save(tmp)
    write_json(path, {**record, "final_train_seconds": final_seconds, "final_fit_from_holdout": previous is not None})
    log.info("%s: refitted on all data in %.1fs%s", model, final_seconds,
             " from its fit on the training part" if previous is not None else "")
    return {"model": model, "artifact": str(files.artifact(model)), "final_train_seconds": round(final_seconds, 3)}


def load_metrics(files: RunFiles) -> dict[str, dict[str, Any]]:
    """Every candidate's metrics record of a run, by model name."""
    return {p.stem: json.loads(p.read_text()) for p in sorted(files.metrics.glob("*.json"))}


def load_artifact(settings: Settings, champion_run_key: str, model: str) -> Recommender:
    """The trained artifact of ``model`` from the run that fitted it, on the configured device."""
    return Recommender.load(settings.layout.run(champion_run_key).artifact(model), device=settings.train.device or None)
