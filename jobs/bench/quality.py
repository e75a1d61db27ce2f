"""``make bench-quality``: every model family through the project's own pipeline on MovieLens-100K, scored by
the protocol of Microsoft Recommenders' MovieLens-100K benchmark (data, split and metrics: ``jobs.bench.movielens``).

A fresh RECS_HOME (``<work>/home``) gets the train split as a u.data-style file and the items as a CSV in its
landing folders; the test split never enters it. Per family: ``run_nightly`` with its defaults, Optuna tuning
(``tune_model``) on the pipeline's own time-based holdout, ``run_nightly`` with the tuned params; each time the
published ``recommendations`` (top-10) are read back and scored against the test split. Then the whole nightly
once more in another fresh home with ``--nightly-models`` as candidates: its wall time (tuning excluded) and the
champion its gate picks. The table goes to ``--out`` between ``<!-- quality:start -->`` and
``<!-- quality:end -->``; the rest of that file (the Scale section of ``jobs.bench``) is left as it is.
Tuned params are kept in ``<work>/tuned/``: ``--skip-tune`` reuses them, so a rerun costs only the runs.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import shutil
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from jobs import steps
from jobs.bench.movielens import (
    MovieLens,
    load_ml100k,
    python_stratified_split,
    score_recommendations,
    write_landing,
)
from jobs.bench.page import machine_text, write_section
from jobs.bench.quality_report import END, START, Report, Row, render
from jobs.config import DEFAULT_CONFIG, PROJECT_ROOT, Settings, TrainSettings, TuneSettings, load_settings
from jobs.train.candidates import load_metrics
from jobs.train.tune import freeze_tuning_snapshot, tune_model
from models.registry import MODELS, model_class
from models.splits import SCOPES, STRATA

log = logging.getLogger("recs.bench_quality")

#: Every model family of the registry.
FAMILIES = tuple(MODELS)
#: The whole nightly's candidates: the default recs.toml's, as ``recs run`` trains them after ``recs tune``.
NIGHTLY_MODELS = TrainSettings().models
#: torch threads: the machine's cores, as a nightly run uses them (two_tower's fits take half the time on 2).
CORES = len(os.sched_getaffinity(0))
#: Trial caps below ``--trials`` for families whose trials are costly on 2 cores: a two-tower trial takes from
#: ~40 s (the defaults) to ~8 min (30 epochs of 4096-item in-batch softmax, measured here). The minutes budget
#: cuts a trial at its next epoch, but the noise guard's refits of a best trial that beats the defaults run
#: outside it, so only two_tower's defaults are evaluated unless ``--trials-two-tower`` says otherwise. The VAE
#: likewise: its 60-epoch fits made one 2-minute tuning budget last 11.5 minutes (the time-ordered benchmark).
TRIAL_CAPS = {"popularity": 1, "two_tower": 1, "vae": 1}
K = 10
#: The steps of ``run_nightly`` that are timed (module attributes of ``jobs.steps`` it calls).
STEPS = ("ingest_files", "freeze_snapshot", "evaluate_candidate", "choose_champion", "fit_champion", "popular_items",
         "score_shard", "similar_items", "build_release", "publish", "write_report")


@contextlib.contextmanager
def step_timer() -> Iterator[dict[str, float]]:
    """Seconds spent in each step of ``jobs.steps.run_nightly`` while the block runs (summed per step)."""
    seconds: dict[str, float] = defaultdict(float)
    originals = {name: getattr(steps, name) for name in STEPS}

    def timed(name: str, fn: Any) -> Any:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[name] += time.perf_counter() - started
        return wrapper

    for name, fn in originals.items():
        setattr(steps, name, timed(name, fn))
    try:
        yield seconds
    finally:
        for name, fn in originals.items():
            setattr(steps, name, fn)


# --- the benchmark home -----------------------------------------------------------------------------------


def make_home(home: Path, train: pd.DataFrame, items: pd.DataFrame, holdout_scope: str,
              holdout_stratify: str = "item") -> Settings:
    """A fresh RECS_HOME with the train split and the items in its landing folders; settings with top_n = K."""
    shutil.rmtree(home, ignore_errors=True)
    write_landing(home / "landing", train, items)
    defaults = load_settings(home=home, config=DEFAULT_CONFIG)
    return defaults.with_overrides(score={"top_n": K}, train={"holdout_scope": holdout_scope,
                                                              "holdout_stratify": holdout_stratify})


def _holdout(record: dict[str, Any], metric: str = "ndcg", k: int | None = K) -> float | None:
    """A value of a run's holdout summary (``metrics/<model>.json``): nDCG@10 by default."""
    values = [m["value"] for m in record["metrics"] if m["metric"] == metric and m["k"] == k]
    return values[0] if values else None


def nightly(settings: Settings, models: tuple[str, ...], run_id: str) -> tuple[dict[str, Any], dict[str, float], float]:
    """``run_nightly`` with ``models`` as candidates (forced publish): (its result, seconds per step, wall seconds)."""
    settings = settings.with_overrides(train={"models": tuple(models)})
    started = time.perf_counter()
    with step_timer() as seconds:
        result = steps.run_nightly(settings, run_id=run_id, force_publish=True)
    return result, dict(seconds), time.perf_counter() - started


def family_run(settings: Settings, family: str, run_id: str, train: pd.DataFrame, test: pd.DataFrame) -> Row:
    """``family`` alone through ``run_nightly`` with the params in the home (tuned, else defaults), scored."""
    _, seconds, wall = nightly(settings, (family,), run_id)
    record = load_metrics(settings.layout.run(run_id))[family]
    metrics, coverage = score_recommendations(settings.layout.serving, train, test, K)
    return Row(family, metrics, coverage, record["final_train_seconds"], seconds["score_shard"], wall,
               _holdout(record), int(_holdout(record, "test_users", None) or 0), record["params"])


# --- the benchmark ------------------------------------------------------------------------------------------


def tune_family(settings: Settings, family: str, trials: int, minutes: float, tuned_dir: Path) -> dict[str, Any]:
    """Tune ``family`` on the pipeline's holdout from a fresh home; keep the params it settles on in ``tuned_dir``.

    With no earlier best, ``tune_model`` starts from the defaults and keeps them unless a trial beats them
    beyond the noise (``train.tuning_min_gain_se``).
    """
    started = time.perf_counter()
    result = tune_model(settings, family, n_trials=trials, minutes=minutes)
    tuned_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(settings.layout.best_params(family), tuned_dir / f"{family}.best.json")
    return {"trials": result["trials_total"], "seconds": round(time.perf_counter() - started, 1),
            "holdout_ndcg": result["value"], "params": result["params"], "decision": result["decision"],
            "folds": result["folds"]}


def are_config_defaults(family: str, params: dict[str, Any]) -> bool:
    """Whether ``params`` are the config's own defaults, so a run with them repeats the run with the defaults.

    Not so for a default the search space had to clip (two_tower's weight_decay 0 is 1e-8 on its log scale).
    """
    defaults = asdict(model_class(family).config_class())
    return all(name in defaults and defaults[name] == value for name, value in params.items())


def use_saved_params(settings: Settings, models: tuple[str, ...], tuned_dir: Path) -> None:
    """Copy the kept best params of ``models`` (where any) into the home, where ``run_nightly`` reads them."""
    for model in models:
        saved = tuned_dir / f"{model}.best.json"
        if saved.exists():
            target = settings.layout.best_params(model)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(saved, target)


def microsoft_split(ratings: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The quality benchmark's outer split: Microsoft's ``python_stratified_split(ratio=0.75, filter_by="item",
    seed=42)``."""
    return python_stratified_split(ratings, ratio=0.75, filter_by="item", seed=42)


def run_benchmark(data: MovieLens, work: Path, families: tuple[str, ...] = FAMILIES,
                  nightly_models: tuple[str, ...] = NIGHTLY_MODELS, trials: int = 20, minutes: float = 2.0,
                  tune: bool = True, threads: int = CORES, trial_caps: dict[str, int] | None = None,
                  holdout_scope: str = "random", holdout_stratify: str = "item",
                  outer_split: Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]] = microsoft_split,
                  ) -> Report:
    """The whole benchmark on ``data`` (ratings in u.data order, items), working under ``work``.

    The protocol: ``outer_split`` cuts the ratings into (train, test), the test split never entering the pipeline;
    ``holdout_scope`` and ``holdout_stratify`` are the pipeline's own holdout of the train split (``[train]``),
    which tuning and the gate read. ``jobs.bench.timeorder`` runs it with a time-ordered split and scope "user".
    """
    import torch

    torch.set_num_threads(threads)
    trial_caps = TRIAL_CAPS if trial_caps is None else trial_caps
    started = time.perf_counter()
    train, test = outer_split(data.ratings)
    log.info("split: %d train rows, %d test rows", len(train), len(test))
    split = (train, test)
    settings = make_home(work / "home", train, data.items, holdout_scope, holdout_stratify)
    steps.ingest_files(settings=settings)
    if tune:
        freeze_tuning_snapshot(settings)
    budget = {family: min(trials, trial_caps.get(family, trials)) for family in families}
    rows = [family_row(settings, family, split, work / "tuned", budget[family] if tune else 0, minutes)
            for family in families]
    night, champion, night_steps = (nightly_row(work, data, split, nightly_models, settings) if nightly_models
                                    else (None, {}, {}))
    counts = {"ratings": len(data.ratings), "users": data.ratings["user_id"].nunique(),
              "items": data.ratings["item_id"].nunique(), "train": len(train), "test": len(test)}
    return Report(rows, night, tuple(nightly_models), champion, night_steps, counts, threads,
                  time.perf_counter() - started, tune, trials, minutes, dict(trial_caps), settings.train.protocol,
                  tuning_folds_used(rows, settings), settings.train.tuning_min_gain_se)


def tuning_folds_used(rows: list[Row], settings: Settings) -> int:
    """The folds tuning averaged over (``tune.tuning_splits``: more than ``train.tuning_folds`` under ``random`` on
    a small data set), as the families' tuning runs report it; recs.toml's value when nothing was tuned."""
    folds = {row.tuning["folds"] for row in rows if "folds" in row.tuning}
    return max(folds) if folds else settings.train.tuning_folds


def family_row(settings: Settings, family: str, split: tuple[pd.DataFrame, pd.DataFrame], tuned_dir: Path,
               trials: int, minutes: float) -> Row:
    """``family`` alone through the pipeline: with its defaults, tuned with ``trials`` (0: the kept params), scored."""
    train, test = split
    tuning: dict[str, Any] = {}
    defaults: Row | None = None
    if trials:
        defaults = family_run(settings, family, f"bench-{family}-defaults", train, test)
        log.info("%s: with defaults %s; tuning (%d trials, %.1f min at most)", family,
                 {k: round(v, 4) for k, v in defaults.metrics.items()}, trials, minutes)
        tuning = tune_family(settings, family, trials, minutes, tuned_dir)
    else:
        use_saved_params(settings, (family,), tuned_dir)
    if defaults is not None and are_config_defaults(family, tuning["params"]):
        row = defaults  # tuning kept the defaults: the tuned run would repeat this one
    else:
        row = family_run(settings, family, f"bench-{family}", train, test)
    row.tuning = tuning
    row.defaults = defaults.metrics if defaults else {}
    row.space = tuple(model_class(family).config_class.space_defaults())
    log.info("%s: %s coverage %.3f (nightly %.1fs)", family, {k: round(v, 4) for k, v in row.metrics.items()},
             row.coverage, row.nightly_seconds)
    return row


def nightly_row(work: Path, data: MovieLens, split: tuple[pd.DataFrame, pd.DataFrame], models: tuple[str, ...],
                protocol: Settings) -> tuple[Row, dict[str, Any], dict[str, float]]:
    """The whole nightly with ``models`` as candidates in a fresh home, tuned params: its champion's row."""
    train, test = split
    home = make_home(work / "nightly-home", train, data.items, protocol.train.holdout_scope,
                     protocol.train.holdout_stratify)
    use_saved_params(home, models, work / "tuned")
    result, night_steps, wall = nightly(home, models, "bench-nightly")
    champion = dict(result["champion"])
    run_metrics = load_metrics(home.layout.run("bench-nightly"))
    record = run_metrics[champion["model"]]
    metrics, coverage = score_recommendations(home.layout.serving, train, test, K)
    night = Row(f"nightly champion: {champion['model']}", metrics, coverage, record["final_train_seconds"],
                night_steps["score_shard"], wall, _holdout(record), params=record["params"])
    champion["holdout_ndcg"] = {m: _holdout(r) for m, r in run_metrics.items()}
    log.info("nightly %s: %.1fs, champion %s, %s", models, wall, champion["model"], metrics)
    return night, champion, night_steps


def names(text: str) -> tuple[str, ...]:
    """A comma-separated list of names (an argparse type)."""
    return tuple(n.strip() for n in text.split(",") if n.strip())


def quiet_logs() -> None:
    """The benchmark's own progress at INFO; the pipeline's steps at WARNING; no progress bars."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("recs.steps", "recs.train", "recs.ingest", "recs.snapshot", "recs.champion", "recs.score",
                  "recs.release", "recs.publish", "recs.tune", "recs.similar"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "outputs" / "bench",
                        help="cache, homes and kept params (never committed)")
    parser.add_argument("--families", type=names, default=FAMILIES, help="comma-separated model families")
    parser.add_argument("--nightly-models", type=names, default=NIGHTLY_MODELS,
                        help="candidates of the whole nightly run ('' to skip it)")
    # recs tune's own budget (recs.toml [tune]) by default: the issue asks for the champion `recs tune` gives.
    parser.add_argument("--trials", type=int, default=TuneSettings().trials, help="Optuna trials per family")
    parser.add_argument("--minutes", type=float, default=TuneSettings().minutes,
                        help="tuning time per family (past it, a running trial stops at its next epoch or fold)")
    parser.add_argument("--trials-two-tower", type=int, default=TRIAL_CAPS["two_tower"],
                        help="trials for two_tower (costly: up to minutes per trial here)")
    parser.add_argument("--skip-tune", action="store_true", help="reuse the params kept from an earlier run")
    parser.add_argument("--threads", type=int, default=CORES, help="torch threads (default: this machine's cores)")
    parser.add_argument("--holdout-scope", choices=SCOPES, default="random",
                        help="the protocol tuning and the gate use (default: random, as the benchmark's own split; "
                             "'user' for the time-ordered protocol: ML-100K's users rate in bursts, so the latest "
                             "10%% of all ratings holds only 85 of 943 users)")
    parser.add_argument("--holdout-stratify", choices=STRATA, default="item",
                        help="for random: a fraction of each item's (default, as the benchmark's split) or user's")
    parser.add_argument("--wheel", type=Path, help="a recbole wheel already on disk (no download)")
    args = parser.parse_args(argv)
    quiet_logs()
    unknown = (set(args.families) | set(args.nightly_models)) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families: {', '.join(sorted(unknown))}")
    data = load_ml100k(args.work / "cache", args.wheel)
    report = run_benchmark(data, args.work, args.families, args.nightly_models, args.trials, args.minutes,
                           tune=not args.skip_tune, threads=args.threads,
                           trial_caps={**TRIAL_CAPS, "two_tower": args.trials_two_tower},
                           holdout_scope=args.holdout_scope, holdout_stratify=args.holdout_stratify)
    date = datetime.now(UTC).date().isoformat()
    write_section(args.out, render(report, date, machine_text()), START, END)
    (args.work / "report.json").write_text(json.dumps(asdict(report), indent=2, default=str))
    print(f"wrote {args.out} ({report.total_seconds / 60:.1f} min)")


if __name__ == "__main__":
    main()
