"""``make bench-quality``: every model family through the project's own pipeline on MovieLens-100K, scored by
the protocol of Microsoft Recommenders' MovieLens-100K benchmark (data, split and metrics: ``jobs.movielens``).

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
import platform
import shutil
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from jobs import pipeline
from jobs.config import DEFAULT_CONFIG, PROJECT_ROOT, Settings, load_settings
from jobs.movielens import (
    RECBOLE_VERSION,
    REFERENCE,
    MovieLens,
    load_ml100k,
    python_stratified_split,
    score_recommendations,
    write_landing,
)
from jobs.train import best_params_path, load_metrics
from jobs.tune import prepare_tuning_data, tune_model
from models.registry import model_class

log = logging.getLogger("recs.bench_quality")

FAMILIES = ("popularity", "itemknn", "ease", "ials", "bpr", "biased_mf", "two_tower", "content_tfidf", "hybrid")
#: The whole nightly's candidates: every family but two_tower, whose two fits (holdout, then all data) alone
#: take about a minute on 2 cores.
NIGHTLY_MODELS = tuple(f for f in FAMILIES if f != "two_tower")
#: Trial caps below ``--trials`` for families whose trials are costly on 2 cores: a two-tower trial takes from
#: ~40 s (the defaults) to ~8 min (30 epochs of 4096-item in-batch softmax, measured here), so only its
#: defaults are evaluated unless ``--trials-two-tower`` says otherwise.
TRIAL_CAPS = {"popularity": 1, "two_tower": 1}
K = 10
METRICS = ("map", "ndcg@k", "precision@k", "recall@k")
START, END = "<!-- quality:start -->", "<!-- quality:end -->"
#: The steps of ``run_nightly`` that are timed (module attributes of ``jobs.pipeline`` it calls).
STEPS = ("ingest", "prepare", "train_candidate", "choose_champion", "score_shard", "similar_items",
         "build_and_check", "publish", "write_report")


@dataclass
class Row:
    """One line of the table: a family's (or the nightly champion's) published top-10, scored."""

    model: str
    metrics: dict[str, float]
    coverage: float
    train_seconds: float
    score_seconds: float
    nightly_seconds: float
    holdout_ndcg: float | None
    holdout_users: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tuning: dict[str, Any] = field(default_factory=dict)
    #: The same family with its default params, through the same pipeline (when tuning ran).
    defaults: dict[str, float] = field(default_factory=dict)


@dataclass
class Report:
    rows: list[Row]
    nightly: Row | None
    nightly_models: tuple[str, ...]
    champion: dict[str, Any]
    nightly_steps: dict[str, float]
    data: dict[str, int]
    threads: int
    total_seconds: float = 0.0
    tuned: bool = True
    trials: int = 0
    minutes: float = 0.0
    trial_caps: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def step_timer() -> Iterator[dict[str, float]]:
    """Seconds spent in each step of ``jobs.pipeline.run_nightly`` while the block runs (summed per step)."""
    seconds: dict[str, float] = defaultdict(float)
    originals = {name: getattr(pipeline, name) for name in STEPS}

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
        setattr(pipeline, name, timed(name, fn))
    try:
        yield seconds
    finally:
        for name, fn in originals.items():
            setattr(pipeline, name, fn)


# --- the benchmark home -----------------------------------------------------------------------------------


def make_home(home: Path, train: pd.DataFrame, items: pd.DataFrame) -> Settings:
    """A fresh RECS_HOME with the train split and the items in its landing folders; settings with top_n = K."""
    shutil.rmtree(home, ignore_errors=True)
    write_landing(home / "landing", train, items)
    return load_settings(home=home, config=DEFAULT_CONFIG).with_overrides(score={"top_n": K})


def _holdout(record: dict[str, Any], metric: str = "ndcg", k: int | None = K) -> float | None:
    """A value of a run's holdout summary (``metrics/<model>.json``): nDCG@10 by default."""
    values = [m["value"] for m in record["metrics"] if m["metric"] == metric and m["k"] == k]
    return values[0] if values else None


def nightly(settings: Settings, models: tuple[str, ...], run_id: str) -> tuple[dict[str, Any], dict[str, float], float]:
    """``run_nightly`` with ``models`` as candidates (forced publish): (its result, seconds per step, wall seconds)."""
    settings = settings.with_overrides(train={"models": tuple(models)})
    started = time.perf_counter()
    with step_timer() as steps:
        result = pipeline.run_nightly(settings, run_id=run_id, force_publish=True)
    return result, dict(steps), time.perf_counter() - started


def family_run(settings: Settings, family: str, run_id: str, train: pd.DataFrame, test: pd.DataFrame) -> Row:
    """``family`` alone through ``run_nightly`` with the params in the home (tuned, else defaults), scored."""
    _, steps, wall = nightly(settings, (family,), run_id)
    record = load_metrics(settings.run_dir(run_id))[family]
    metrics, coverage = score_recommendations(settings.serving_path, train, test, K)
    return Row(family, metrics, coverage, record["final_train_seconds"], steps["score_shard"], wall,
               _holdout(record), int(_holdout(record, "test_users", None) or 0), record["params"])


# --- the benchmark ------------------------------------------------------------------------------------------


def tune_family(settings: Settings, family: str, trials: int, minutes: float, tuned_dir: Path) -> dict[str, Any]:
    """Tune ``family`` on the pipeline's holdout, starting from its defaults; keep the best params in ``tuned_dir``.

    The defaults are written where the pipeline keeps a model's last best params, so ``tune_model``'s warm start
    makes them the study's first trial: the tuned params are never worse than the defaults on that holdout.
    """
    path = best_params_path(settings, family)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": family, "params": default_params(family), "note": "bench: defaults"}))
    started = time.perf_counter()
    result = tune_model(settings, family, n_trials=trials, minutes=minutes)
    tuned_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, tuned_dir / f"{family}.best.json")
    return {"trials": result["trials_total"], "seconds": round(time.perf_counter() - started, 1),
            "holdout_ndcg": result["best_value"], "params": result["best_params"]}


class _AtDefaults:
    """Stands in for an Optuna trial: each ``suggest_*`` answers the default of the config field of that name
    (clipped into the suggested range)."""

    def __init__(self, defaults: dict[str, Any]) -> None:
        self.defaults = defaults

    def suggest_float(self, name: str, low: float, high: float, **kwargs: Any) -> float:
        return min(max(float(self.defaults[name]), low), high)  # e.g. a weight decay of 0 on a log scale

    def suggest_int(self, name: str, low: int, high: int, **kwargs: Any) -> int:
        return min(max(int(self.defaults[name]), low), high)

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.defaults[name]


def default_params(family: str) -> dict[str, Any]:
    """``family``'s search space evaluated at its config defaults (what the study's first trial tries)."""
    config_class = model_class(family).config_class
    try:
        return config_class.search_space(_AtDefaults(config_class().to_dict()))
    except KeyError:  # a suggest name that is not a field name: let the sampler start
        return {}


def use_saved_params(settings: Settings, models: tuple[str, ...], tuned_dir: Path) -> None:
    """Copy the kept best params of ``models`` (where any) into the home, where ``run_nightly`` reads them."""
    for model in models:
        saved = tuned_dir / f"{model}.best.json"
        if saved.exists():
            target = best_params_path(settings, model)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(saved, target)


def run_benchmark(data: MovieLens, work: Path, families: tuple[str, ...] = FAMILIES,
                  nightly_models: tuple[str, ...] = NIGHTLY_MODELS, trials: int = 20, minutes: float = 2.0,
                  tune: bool = True, threads: int = 1, trial_caps: dict[str, int] | None = None) -> Report:
    """The whole benchmark on ``data`` (ratings in u.data order, items), working under ``work``."""
    import torch

    torch.set_num_threads(threads)
    trial_caps = TRIAL_CAPS if trial_caps is None else trial_caps
    started = time.perf_counter()
    train, test = python_stratified_split(data.ratings, ratio=0.75, filter_by="item", seed=42)
    log.info("split: %d train rows, %d test rows", len(train), len(test))
    tuned_dir = work / "tuned"
    settings = make_home(work / "home", train, data.items)
    pipeline.ingest(settings)
    if tune:
        prepare_tuning_data(settings)

    rows = []
    for family in families:
        tuning: dict[str, Any] = {}
        defaults: Row | None = None
        if tune:
            defaults = family_run(settings, family, f"bench-{family}-defaults", train, test)
            budget = min(trials, trial_caps.get(family, trials))
            log.info("%s: with defaults %s; tuning (%d trials, %.1f min at most)", family,
                     {k: round(v, 4) for k, v in defaults.metrics.items()}, budget, minutes)
            tuning = tune_family(settings, family, budget, minutes, tuned_dir)
        else:
            use_saved_params(settings, (family,), tuned_dir)
        if defaults is not None and tuning["params"] == default_params(family):
            row = defaults  # the defaults won on the holdout: the tuned run would repeat this one
        else:
            row = family_run(settings, family, f"bench-{family}", train, test)
        row.tuning = tuning
        row.defaults = defaults.metrics if defaults else {}
        rows.append(row)
        log.info("%s: %s coverage %.3f (nightly %.1fs)", family, {k: round(v, 4) for k, v in row.metrics.items()},
                 row.coverage, row.nightly_seconds)

    night = None
    champion: dict[str, Any] = {}
    night_steps: dict[str, float] = {}
    if nightly_models:
        home = make_home(work / "nightly-home", train, data.items)
        use_saved_params(home, nightly_models, tuned_dir)
        result, night_steps, wall = nightly(home, nightly_models, "bench-nightly")
        champion = result["champion"]
        run_metrics = load_metrics(home.run_dir("bench-nightly"))
        record = run_metrics[champion["model"]]
        metrics, coverage = score_recommendations(home.serving_path, train, test, K)
        night = Row(f"nightly champion: {champion['model']}", metrics, coverage, record["final_train_seconds"],
                    night_steps["score_shard"], wall, _holdout(record), params=record["params"])
        champion["holdout_ndcg"] = {m: _holdout(r) for m, r in run_metrics.items()}
        log.info("nightly %s: %.1fs, champion %s, %s", nightly_models, wall, champion["model"], metrics)

    counts = {"ratings": len(data.ratings), "users": data.ratings["user_id"].nunique(),
              "items": data.ratings["item_id"].nunique(), "train": len(train), "test": len(test)}
    return Report(rows, night, tuple(nightly_models), champion, night_steps, counts, threads,
                  time.perf_counter() - started, tune, trials, minutes, dict(trial_caps))


# --- the report ---------------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{len(os.sched_getaffinity(0))} CPU cores (`nproc`), {cpu}"


def _f(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _params(params: dict[str, Any]) -> str:
    def short(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    return ", ".join(f"{k}={short(v)}" for k, v in params.items()) or "defaults"


def render(report: Report, date: str, machine_text: str) -> str:
    """The quality section (markdown, between the markers)."""
    ref = REFERENCE
    rows = [*report.rows, *([report.nightly] if report.nightly else [])]
    pop = next((r for r in report.rows if r.model == "popularity"), None)
    budget = (f"tuning up to {report.trials} trials or {report.minutes:g} min per family "
              f"(caps: {', '.join(f'{k} {v}' for k, v in report.trial_caps.items())})" if report.tuned
              else "tuning skipped (`--skip-tune`: params kept from an earlier run, else the defaults)")
    lines = [
        START,
        "## Quality: MovieLens-100K, Microsoft Recommenders protocol",
        "",
        f"`make bench-quality` (`python -m jobs.bench_quality --out docs/benchmarks.md`), run on {date}; "
        f"{machine_text}; torch with {report.threads} thread(s); {budget}; the whole benchmark took "
        f"{report.total_seconds / 60:.1f} min.",
        "",
        f"- Data: MovieLens-100K from the `recbole` {RECBOLE_VERSION} wheel, extracted at run time and never committed "
        f"({report.data['ratings']:,} ratings, {report.data['users']} users, {report.data['items']} items, in u.data's "
        "row order: checked by sha256).",
        "- Protocol of Microsoft Recommenders' `examples/06_benchmarks`: `python_stratified_split(ratio=0.75, "
        f"filter_by=\"item\", seed=42)` ({report.data['train']:,} train / {report.data['test']:,} test rows); top-10 "
        "with the user's training items removed; every held-out rating relevant; their precision@k, recall@k, ndcg@k "
        "(binary) and `map` (precision at each hit, summed, over the user's number of held-out items), averaged over "
        "the users in both truth and predictions.",
        "- Each family ran through the pipeline in a fresh RECS_HOME: ingest of the train split, Optuna tuning on the "
        "pipeline's own time-based holdout (the test split is never seen; the study's first trial is the defaults), "
        "`run_nightly` with that family alone, and the published `recommendations` table scored. Coverage: distinct "
        "items recommended / items in the train split. Train s: the fit on the whole train split. Score s: the score "
        "step (every user's top-10 into Parquet). Holdout nDCG@10: the pipeline's own metric, on its holdout. "
        "nDCG@10 with defaults: the same family untuned, through the same pipeline.",
        "",
        "| model | MAP | nDCG@10 | P@10 | R@10 | coverage | train s | score s | holdout nDCG@10 | tuning "
        "| nDCG@10 with defaults |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {ref['model']} (reference) | {ref['map']:.4f} | {ref['ndcg@k']:.4f} | {ref['precision@k']:.4f} | "
        f"{ref['recall@k']:.4f} | – | – | – | – | – | – |",
    ]
    for r in rows:
        m = r.metrics
        tuning = f"{r.tuning['trials']} trials, {r.tuning['seconds']:.0f} s" if r.tuning else "–"
        lines.append(f"| {r.model} | {m['map']:.4f} | {m['ndcg@k']:.4f} | {m['precision@k']:.4f} | {m['recall@k']:.4f} "
                     f"| {r.coverage:.3f} | {r.train_seconds:.2f} | {r.score_seconds:.2f} | {_f(r.holdout_ndcg)} "
                     f"| {tuning} | {_f(r.defaults.get('ndcg@k'))} |")
    lines += ["", "Params (the tuned fields):", ""]
    for r in report.rows:
        space = default_params(r.model)
        lines.append(f"- {r.model}: {_params({k: v for k, v in r.params.items() if k in space})}")
    if report.nightly:
        n = report.nightly
        margins = ", ".join(f"{label} {n.metrics[key] - ref[key]:+.4f}" for key, label in
                            zip(METRICS, ("MAP", "nDCG@10", "P@10", "R@10")))
        beats = all(n.metrics[key] > ref[key] for key in METRICS)
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in report.nightly_steps.items())
        holdout = ", ".join(f"{k} {_f(v)}" for k, v in sorted(report.champion.get("holdout_ndcg", {}).items(),
                                                              key=lambda kv: -(kv[1] or 0)))
        lines += [
            "",
            f"**Nightly run** (a fresh home, tuned params, tuning excluded), candidates {', '.join(report.nightly_models)}: "
            f"**{n.nightly_seconds:.1f} s** from ingest to report ({steps}). The gate picked **{report.champion.get('model')}** "
            f"by the holdout's nDCG@10 ({holdout}).",
            "",
            f"**Champion vs BiVAE**: {margins}: {'better on all four' if beats else 'not better on all four'}.",
        ]
    notes = []
    users = {r.holdout_users for r in report.rows if r.holdout_users}
    if users:
        notes.append(f"the pipeline's holdout (the latest 10 % of ratings, users without earlier ratings dropped) "
                     f"holds {', '.join(map(str, sorted(users)))} users here")
    worse = [r.model for r in report.rows if r.defaults and r.metrics["ndcg@k"] < r.defaults["ndcg@k"] - 1e-4]
    if worse:
        notes.append(f"tuned on it, {', '.join(worse)} score below their defaults on the test split")
    if pop:
        below = [r.model for r in report.rows if r.model != "popularity" and r.metrics["ndcg@k"] <= pop.metrics["ndcg@k"]]
        ratios = ", ".join(f"{r.model} {r.metrics['ndcg@k'] / pop.metrics['ndcg@k']:.2f}x" for r in report.rows
                           if r.model != "popularity")
        notes.append(f"nDCG@10 relative to popularity: {ratios}"
                     + (f"; below popularity: {', '.join(below)}" if below else ""))
    if notes:
        lines += ["", "Notes: " + "; ".join(notes) + "."]
    lines.append(END)
    return "\n".join(lines)


def write_section(path: Path, section: str) -> None:
    """Put ``section`` (markers included) into ``path``, replacing only what lies between the markers."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        tail = rest.split(END, 1)[1]
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _names(text: str) -> tuple[str, ...]:
    return tuple(n.strip() for n in text.split(",") if n.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench_quality", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "outputs" / "bench",
                        help="cache, homes and kept params (never committed)")
    parser.add_argument("--families", type=_names, default=FAMILIES, help="comma-separated model families")
    parser.add_argument("--nightly-models", type=_names, default=NIGHTLY_MODELS,
                        help="candidates of the whole nightly run ('' to skip it)")
    parser.add_argument("--trials", type=int, default=20, help="Optuna trials per family")
    parser.add_argument("--minutes", type=float, default=2.0,
                        help="tuning time per family (a running trial finishes first)")
    parser.add_argument("--trials-two-tower", type=int, default=TRIAL_CAPS["two_tower"],
                        help="trials for two_tower (costly: up to minutes per trial here)")
    parser.add_argument("--skip-tune", action="store_true", help="reuse the params kept from an earlier run")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: no oversubscription when the cores are shared; ML-100K is small)")
    parser.add_argument("--wheel", type=Path, help="a recbole wheel already on disk (no download)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("recs.pipeline", "recs.train", "recs.ingest", "recs.snapshot", "recs.champion", "recs.score",
                  "recs.release", "recs.publish", "recs.tune", "recs.similar"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")
    unknown = (set(args.families) | set(args.nightly_models)) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families: {', '.join(sorted(unknown))}")
    data = load_ml100k(args.work / "cache", args.wheel)
    report = run_benchmark(data, args.work, args.families, args.nightly_models, args.trials, args.minutes,
                           tune=not args.skip_tune, threads=args.threads,
                           trial_caps={**TRIAL_CAPS, "two_tower": args.trials_two_tower})
    date = datetime.now(UTC).date().isoformat()
    write_section(args.out, render(report, date, machine()))
    (args.work / "report.json").write_text(json.dumps(asdict(report), indent=2, default=str))
    print(f"wrote {args.out} ({report.total_seconds / 60:.1f} min)")


if __name__ == "__main__":
    main()
