"""The quality benchmark's records (``Row``, ``Report``) and the markdown section they render to in
docs/benchmarks.md, between ``START`` and ``END``; ``jobs.bench.quality`` runs the benchmark itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobs.bench.movielens import RECBOLE_VERSION, REFERENCE

METRICS = ("map", "ndcg@k", "precision@k", "recall@k")
START, END = "<!-- quality:start -->", "<!-- quality:end -->"


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
    #: The config fields its search space tunes (the params listed under the table).
    space: tuple[str, ...] = ()


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
    #: The protocol tuning and the gate read, in words (``TrainSettings.protocol``).
    protocol: str = ""
    #: Folds each tuning trial averages (``tune.tuning_splits``).
    tuning_folds: int = 1
    #: Standard errors of per-user gain tuned params need to replace the defaults (``train.tuning_min_gain_se``).
    tuning_min_gain_se: float = 0.0



def _f(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _params(params: dict[str, Any]) -> str:
    def short(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else str(v)
    return ", ".join(f"{k}={short(v)}" for k, v in params.items()) or "defaults"


def render(report: Report, date: str, machine_text: str) -> str:
    """The quality section (markdown, between the markers)."""
    lines = [START, *_header(report, date, machine_text), *_table(report), *_params_list(report), *_nightly(report),
             *_notes(report), END]
    return "\n".join(lines)


def _header(report: Report, date: str, machine_text: str) -> list[str]:
    budget = (f"tuning up to {report.trials} trials or {report.minutes:g} min per family "
              f"(caps: {', '.join(f'{k} {v}' for k, v in report.trial_caps.items())})" if report.tuned
              else "tuning skipped (`--skip-tune`: params kept from an earlier run, else the defaults)")
    return [
        "## Quality: MovieLens-100K, Microsoft Recommenders protocol",
        "",
        f"`make bench-quality` (`python -m jobs.bench.quality --out docs/benchmarks.md`), run on {date}; "
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
        f"pipeline's own holdout of the train split ({report.protocol}; each trial's value the mean over "
        f"{report.tuning_folds} folds of that protocol the gate never reads; the test split is never seen; the study's first trial is the defaults, and the best trial replaces them only "
        f"when its per-user gain on those windows exceeds {report.tuning_min_gain_se:g} standard errors), "
        "`run_nightly` with that family alone, and the published `recommendations` table scored. Coverage: distinct "
        "items recommended / items in the train split. Train s: the fit on the whole train split. Score s: the score "
        "step (every user's top-10 into Parquet). Holdout nDCG@10: the pipeline's own metric, on its holdout. "
        "nDCG@10 with defaults: the same family untuned, through the same pipeline.",
        "",
    ]


def _table(report: Report) -> list[str]:
    ref = REFERENCE
    lines = [
        "| model | MAP | nDCG@10 | P@10 | R@10 | coverage | train s | score s | holdout nDCG@10 | tuning "
        "| nDCG@10 with defaults |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {ref['model']} (reference) | {ref['map']:.4f} | {ref['ndcg@k']:.4f} | {ref['precision@k']:.4f} | "
        f"{ref['recall@k']:.4f} | – | – | – | – | – | – |",
    ]
    for r in [*report.rows, *([report.nightly] if report.nightly else [])]:
        m = r.metrics
        tuning = f"{r.tuning['trials']} trials, {r.tuning['seconds']:.0f} s" if r.tuning else "–"
        if r.tuning.get("decision", "").startswith("kept"):
            tuning += ", defaults kept"
        lines.append(f"| {r.model} | {m['map']:.4f} | {m['ndcg@k']:.4f} | {m['precision@k']:.4f} | {m['recall@k']:.4f} "
                     f"| {r.coverage:.3f} | {r.train_seconds:.2f} | {r.score_seconds:.2f} | {_f(r.holdout_ndcg)} "
                     f"| {tuning} | {_f(r.defaults.get('ndcg@k'))} |")
    return lines


def _params_list(report: Report) -> list[str]:
    lines = ["", "Params (the tuned fields):", ""]
    for r in report.rows:
        decision = r.tuning.get("decision", "best trial") if r.tuning else "best trial"
        why = "" if decision == "best trial" else f" ({decision})"
        lines.append(f"- {r.model}: {_params({k: v for k, v in r.params.items() if k in r.space})}{why}")
    return lines


def _nightly(report: Report) -> list[str]:
    if not report.nightly:
        return []
    n, ref = report.nightly, REFERENCE
    margins = ", ".join(f"{label} {n.metrics[key] - ref[key]:+.4f}" for key, label in
                        zip(METRICS, ("MAP", "nDCG@10", "P@10", "R@10")))
    beats = all(n.metrics[key] > ref[key] for key in METRICS)
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in report.nightly_steps.items())
    holdout = ", ".join(f"{k} {_f(v)}" for k, v in sorted(report.champion.get("holdout_ndcg", {}).items(),
                                                          key=lambda kv: -(kv[1] or 0)))
    return [
        "",
        f"**Nightly run** (a fresh home, tuned params, tuning excluded), candidates {', '.join(report.nightly_models)}: "
        f"**{n.nightly_seconds:.1f} s** from ingest to report ({steps}). The gate picked **{report.champion.get('model')}** "
        f"by the holdout's nDCG@10 ({holdout}). The gate's reason: \"{report.champion.get('reason', '')}\".",
        "",
        f"**Champion vs BiVAE**: {margins}: {'better on all four' if beats else 'not better on all four'}.",
    ]


def _notes(report: Report) -> list[str]:
    notes = []
    users = {r.holdout_users for r in report.rows if r.holdout_users}
    if users:
        notes.append(f"the pipeline's holdout ({report.protocol}; rows of users or items unseen before "
                     f"it dropped) holds {', '.join(map(str, sorted(users)))} users here")
    worse = [r.model for r in report.rows if r.defaults and r.metrics["ndcg@k"] < r.defaults["ndcg@k"] - 1e-4]
    if worse:
        notes.append(f"tuned on it, {', '.join(worse)} {'scores' if len(worse) == 1 else 'score'} below "
                     f"{'its' if len(worse) == 1 else 'their'} defaults on the test split")
    pop = next((r for r in report.rows if r.model == "popularity"), None)
    if pop:
        below = [r.model for r in report.rows if r.model != "popularity" and r.metrics["ndcg@k"] <= pop.metrics["ndcg@k"]]
        ratios = ", ".join(f"{r.model} {r.metrics['ndcg@k'] / pop.metrics['ndcg@k']:.2f}x" for r in report.rows
                           if r.model != "popularity")
        notes.append(f"nDCG@10 relative to popularity: {ratios}"
                     + (f"; below popularity: {', '.join(below)}" if below else ""))
    return ["", "Notes: " + "; ".join(notes) + "."] if notes else []
