"""Hyperparameter tuning with Optuna: persistent, pruned, warm-started, on the pipeline's own holdout.

One study per model lives in a journal file (``outputs/optuna/journal.log``), so a later call resumes it:
trials add up across runs of ``recs tune`` and of the ``recs_tune`` DAG. Iterative models report the
validation metric after each epoch and Optuna's median pruner stops hopeless trials early. The minutes budget
holds inside a trial too: past it, the trial running stops at its next epoch (or, for a closed-form model,
after the fold it is fitting) and is recorded as pruned, unless the study has no completed trial yet. A new
study starts from the last best params (enqueued as its first trial). Every trial goes to the ``tuning_trials`` table;
the best params go to ``outputs/tuning/<model>.best.json``, which every nightly run trains with.

The objective is the nightly gate's metric on a frozen snapshot, averaged over ``train.tuning_folds`` folds
(more under ``random`` on a small data set: ``tuning_splits``) of the same protocol as the gate's holdout
(``train.holdout_scope``): rolling-origin windows before the gate's own (the window before the latest, the one
before that, ...) for the time protocols, independent seeded draws for ``random``. One window of a small data set holds few users (85 on MovieLens-100K), and params picked on it
alone fit its noise; the gate's own holdout stays unseen so that it judges tuned and untuned candidates alike.
The test split of a benchmark is never seen here.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from jobs import warehouse
from jobs.config import Settings
from jobs.files import write_json
from jobs.sql import run_sql
from jobs.train.candidates import best_params, candidate_params, holdout, train_options
from jobs.train.snapshot import load_snapshot, write_snapshot
from models.evaluation import evaluate, metric_value
from models.metrics import paired_difference, parse_metric
from models.registry import build, model_class
from models.splits import Split

log = logging.getLogger("recs.tune")


def storage(settings: Settings) -> JournalStorage:
    journal = settings.layout.optuna_journal
    journal.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(journal)))


def freeze_tuning_snapshot(settings: Settings, as_of: datetime | None = None) -> dict[str, int]:
    """Freeze the warehouse's interactions (before ``as_of``) for the tuning trials to share."""
    with warehouse.connect(settings) as con:
        return write_snapshot(con, settings.layout.tuning, as_of)


#: The most folds tuning draws under ``random`` to reach ``train.tuning_min_user_windows``.
MAX_RANDOM_FOLDS = 10


def tuning_splits(settings: Settings, snapshot: Any) -> list[Split]:
    """Tuning's folds 1..tuning_folds that have test users: rolling-origin windows before the gate's, the most
    recent first (time protocols), or independent seeded draws (``random``).

    Fold 0, the gate's own holdout, is left out: params picked on the holdout that then judges them look
    better there than they are (the winner's curse), and a candidate with more tuned params would win the
    gate by that alone.

    Under ``random`` the draws are exchangeable, so more are added (up to ``MAX_RANDOM_FOLDS``) until their test
    users add up to ``train.tuning_min_user_windows``: on a small catalogue three draws hold too few users for
    the noise guard to see a real gain (docs/benchmarks.md, "Which tuning validation sees the EDLAE plateau").
    Time windows further back describe an older world, so the time protocols keep ``tuning_folds``.
    """
    train = settings.train
    splits = [holdout(settings, snapshot, fold) for fold in range(1, max(train.tuning_folds, 1) + 1)]
    if train.holdout_scope == "random":
        while len(splits) < MAX_RANDOM_FOLDS and user_windows(splits) < train.tuning_min_user_windows:
            splits.append(holdout(settings, snapshot, len(splits) + 1))
    usable = [split for split in splits if split.test.nnz]
    return usable or splits[:1]


def user_windows(splits: list[Split]) -> int:
    """The paired observations the folds give the noise guard: each fold's users with held-out interactions."""
    return sum(len(split.test_users) for split in splits)


def _cutoff(settings: Settings, metric: str) -> int:
    """The K of an ``'ndcg@10'``-style metric; the smallest evaluated cutoff for one without it."""
    return parse_metric(metric)[1] or min(settings.evaluate.cutoffs)


def _untuned(settings: Settings, model: str) -> dict[str, Any]:
    """The params a trial does not choose but the nightly candidate has (a hybrid's bases' tuned params)."""
    searched = set(model_class(model).config_class.space_defaults())
    return {k: v for k, v in candidate_params(settings, model).items() if k not in searched}


def _objective(settings: Settings, model: str, splits: list[Split], metric: str, deadline: float):
    """The trial function; ``deadline`` (``time.monotonic()``) is when the tuning budget runs out."""
    k = _cutoff(settings, metric)
    untuned = _untuned(settings, model)

    def validate(candidate: Any, split: Split = splits[0]) -> float:
        _, summary = evaluate(candidate, split, (k,), settings.score.chunk_users)
        return metric_value(summary, metric)

    def objective(trial: optuna.Trial) -> float:
        params = model_class(model).config_class.search_space(trial)
        trial.set_user_attr("config", params)  # the config fields, whatever the suggest names
        params = {**untuned, **params}
        # Optuna's timeout only stops between trials, and one trial can outlast the whole budget (a two-tower
        # trial: minutes). A trial is cut only when an earlier one completed, so a best always exists.
        completed = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        cutoff = deadline if completed else None

        def out_of_time() -> bool:
            if cutoff is not None and time.monotonic() > cutoff:
                trial.set_user_attr("stopped", "out of tuning time")
                return True
            return False

        def report(step: int, value: float) -> bool:
            trial.report(value, step)
            return trial.should_prune()

        # Pruning watches the first fold's epochs; the other folds are fitted only for trials that finish it.
        options = replace(train_options(settings), report=report, validate=validate, deadline=cutoff)
        candidate = build(model, params)
        started = time.perf_counter()
        candidate.fit(splits[0].train, options)
        trial.set_user_attr("train_seconds", time.perf_counter() - started)
        if trial.should_prune() or out_of_time():
            raise optuna.TrialPruned()
        values = [validate(candidate)]
        for split in splits[1:]:
            fold_model = build(model, params).fit(split.train, replace(train_options(settings), deadline=cutoff))
            if out_of_time():
                raise optuna.TrialPruned()
            values.append(validate(fold_model, split))
        trial.set_user_attr("fold_values", values)
        return float(np.mean(values))

    return objective


def _record_trials(settings: Settings, study: optuna.Study, model: str) -> None:
    trials = pd.DataFrame([
        {"study": study.study_name, "model": model, "trial_number": t.number, "state": t.state.name, "value": t.value,
         "params": json.dumps(t.params, sort_keys=True), "started_at": t.datetime_start,
         "finished_at": t.datetime_complete, "train_seconds": t.user_attrs.get("train_seconds")}
        for t in study.trials
    ], columns=["study", "model", "trial_number", "state", "value", "params", "started_at", "finished_at",
                "train_seconds"]).astype({"value": "float64", "train_seconds": "float64"})
    with warehouse.connect(settings) as con:
        con.execute("begin transaction")
        run_sql(con, "tuning/clear_trials", {"study": study.study_name})
        con.register("study_trials", trials)
        run_sql(con, "tuning/insert_trials")
        con.unregister("study_trials")
        con.execute("commit")


def kept_params(settings: Settings, model: str) -> dict[str, Any]:
    """The params tuning must beat: the last best, else the config defaults (as the search space names them)."""
    if settings.layout.best_params(model).exists():
        return best_params(settings, model)
    return model_class(model).config_class.space_defaults()


def _warm_start(study: optuna.Study, model: str, incumbent: dict[str, Any]) -> None:
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if incumbent and not finished:
        study.enqueue_trial(incumbent, skip_if_exists=True)
        log.info("%s: warm start from %s", model, incumbent)


def per_user_gain(settings: Settings, model: str, splits: list[Split], metric: str, challenger: dict[str, Any],
                  incumbent: dict[str, Any]) -> tuple[np.ndarray, list[float]]:
    """(per-user metric of ``challenger`` minus ``incumbent`` params over all ``splits``, incumbent's fold means)."""
    k = _cutoff(settings, metric)
    options = train_options(settings)
    untuned = _untuned(settings, model)
    gains, incumbent_values = [], []
    for split in splits:
        per_user = [evaluate(build(model, {**untuned, **params}).fit(split.train, options), split, (k,),
                             settings.score.chunk_users)[0]
                    for params in (challenger, incumbent)]
        if metric not in per_user[0]:
            raise KeyError(f"{metric} is not a per-user metric")
        gains.append(per_user[0][metric].to_numpy() - per_user[1][metric].to_numpy())
        incumbent_values.append(float(per_user[1][metric].mean()))
    return np.concatenate(gains), incumbent_values


def adopt_or_keep(gain: np.ndarray, min_gain_se: float) -> tuple[bool, str]:
    """Adopt the challenger when its mean per-user gain exceeds ``min_gain_se`` standard errors; and why."""
    mean, se, _ = paired_difference(gain)
    verdict = mean > min_gain_se * se
    what = "adopted" if verdict else "kept the previous params"
    return verdict, f"{what}: per-user gain {mean:+.4f} over {len(gain)} user-windows, {min_gain_se:g} x SE = {min_gain_se * se:.4f}"


def has_search_space(model: str) -> bool:
    """Does ``model``'s config declare tunable fields (a ``search_space`` of its own)?"""
    from models.base import Config

    return model_class(model).config_class.search_space.__func__ is not Config.search_space.__func__


def tune_model(settings: Settings, model: str, n_trials: int | None = None, minutes: float | None = None,
               study_name: str | None = None) -> dict[str, Any]:
    """Run up to ``n_trials`` more trials (or ``minutes``) of ``model``'s study; save and return the best.

    Both default to ``[tune]`` in recs.toml (``trials``, ``minutes``)."""
    n_trials = settings.tune.trials if n_trials is None else n_trials
    if not has_search_space(model):  # every trial would repeat the defaults' (popularity)
        n_trials = min(n_trials, 1)
    minutes = settings.tune.minutes if minutes is None else minutes
    snapshot = load_snapshot(settings.layout.tuning)
    splits = tuning_splits(settings, snapshot)
    metric = settings.train.champion_metric
    # Trials measured on another holdout are not comparable: another protocol or fold count gets a study of its own.
    train = settings.train
    scope = {"global": "", "user": ":user", "random": f":random-{train.holdout_stratify}"}[train.holdout_scope]
    folds = "" if len(splits) == 1 else f":{len(splits)}folds"
    name = study_name or f"{model}:{metric}{scope}{folds}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name, storage=storage(settings), direction="maximize", load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=settings.train.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1),
    )
    before = len(study.trials)  # counted before the warm-start trial is enqueued: it is one of the new ones
    incumbent = kept_params(settings, model)
    _warm_start(study, model, incumbent)
    deadline = time.monotonic() + minutes * 60
    study.optimize(_objective(settings, model, splits, metric, deadline), n_trials=n_trials, timeout=minutes * 60,
                   catch=(RuntimeError, ValueError))
    _record_trials(settings, study, model)
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise RuntimeError(f"study {name}: no trial completed")
    best = study.best_trial
    best_config = best.user_attrs.get("config", best.params)
    states = {s.name: sum(t.state == s for t in study.trials) for s in optuna.trial.TrialState}
    log.info("%s: %d new trials (%s); best %s=%.4f with %s", model, len(study.trials) - before,
             {k: v for k, v in states.items() if v}, metric, best.value, best_config)
    cut = sum(t.user_attrs.get("stopped") is not None for t in study.trials[before:])
    if cut:
        log.info("%s: %d trial(s) stopped when the %g-minute budget ran out", model, cut, minutes)
    params, value, decision = best_config, best.value, "best trial"
    if incumbent and best_config != incumbent and settings.train.tuning_min_gain_se > 0:
        try:
            gain, incumbent_values = per_user_gain(settings, model, splits, metric, best_config, incumbent)
        except KeyError:  # a metric with no per-user values (coverage): the best trial stands
            pass
        else:
            adopt, decision = adopt_or_keep(gain, settings.train.tuning_min_gain_se)
            if not adopt:
                params, value = incumbent, float(np.mean(incumbent_values))
            log.info("%s: %s", model, decision)
    record = {"model": model, "study": name, "metric": metric, "value": value, "params": params,
              "decision": decision, "best_trial": best.number, "best_trial_value": best.value,
              "best_trial_params": best_config, "n_trials": len(study.trials)}
    write_json(settings.layout.best_params(model), record)
    return {"model": model, "study": name, "best_value": best.value, "best_params": best_config,
            "value": value, "params": params, "decision": decision,
            "trials_total": len(study.trials), "trials_new": len(study.trials) - before,
            "folds": len(splits), "user_windows": user_windows(splits)}
