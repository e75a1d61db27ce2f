"""``make bench-quality`` (its third command): benchmark (b), MovieLens-100K time-ordered, with two peers.

The outer split (``chrono_split``): per user, the ratings ordered by timestamp, ties in time broken by a fixed
hash of the pair (crc32 of ``"<user_id>\\t<item_id>"``: the same on every run and machine, unlike Python's salted
``hash``); the user's latest m = round(0.2 x n) ratings are the test split, rounded half up in integer arithmetic
(m = floor(0.2 n + 1/2)) and clipped to 1 <= m <= n - 1, so every user with >= 2 ratings keeps at least one in
train and holds out at least one (a user with one rating keeps it in train). Microsoft Recommenders'
``python_chrono_split(ratio=0.8, filter_by="user")`` keeps a row in train when its 1-based rank over the user's n
rows, r / n <= 0.8: it holds out n - floor(0.8 n) = ceil(0.2 n) rows, one more than this rule where 0.2 n has a
fractional part below 1/2 (n = 5k + 1, 5k + 2), a user of one rating entirely, and it breaks ties in time by
``sort_values``' unspecified order; ``split_comparison`` counts the difference on the data.

The pipeline side is ``jobs.bench.quality.run_benchmark`` with this outer split and the pipeline's holdout
``holdout_scope = "user"`` (each user's latest 10 % of the train split, tuning on the rolling-origin windows
before it): every family alone, defaults then tuned, then the whole nightly with all of them in a fresh home.

The peers run outside the pipeline, as a careful user of those libraries would run them: ``implicit``'s ALS
(``implicit==0.7.3``, installed by ``make bench-quality``, not a runtime dependency) and the EASE of Steck's
paper (``ease_reference``), each tuned with Optuna (``--peer-trials``, TPE seeded, the libraries' defaults as the
first trial) by nDCG@10 on an inner split of the train split only (each user's latest 10 % of it, the same rule),
then fitted on the whole train split and scored like the pipeline's table: top-10 with the user's training items
removed, ``ranking_metrics`` against the test split.

The section goes to ``--out`` between ``<!-- timeorder:start -->`` and ``<!-- timeorder:end -->``, right after
the diversity section when the markers are missing.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from jobs.bench.movielens import RECBOLE_VERSION, load_ml100k, ranking_metrics
from jobs.bench.page import machine_text, write_section
from jobs.bench.quality import CORES, FAMILIES, NIGHTLY_MODELS, TRIAL_CAPS, K, names, quiet_logs, run_benchmark
from jobs.bench.quality_report import Report, Row
from jobs.config import PROJECT_ROOT
from jobs.files import write_text

log = logging.getLogger("recs.bench_timeorder")

START, END = "<!-- timeorder:start -->", "<!-- timeorder:end -->"
#: The section's place when its markers are missing: right after the diversity section.
AFTER = "<!-- diversity:end -->"
TEST_PERCENT, INNER_PERCENT = 20, 10
SEED = 42
METRICS = ("map", "ndcg@k", "precision@k", "recall@k")
LABELS = dict(zip(METRICS, ("MAP", "nDCG@10", "P@10", "R@10")))


# --- the outer split --------------------------------------------------------------------------------------


def pair_hash(users: pd.Series, items: pd.Series) -> np.ndarray:
    """crc32 of ``"<user>\\t<item>"`` per row: the fixed order of ratings at the same instant."""
    keys = users.astype(str) + "\t" + items.astype(str)
    return np.fromiter((zlib.crc32(k.encode()) for k in keys), dtype=np.uint32, count=len(keys))


def held_count(n: np.ndarray | int, percent: int) -> np.ndarray:
    """Ratings held out of a user's n: floor(percent/100 x n + 1/2) in integers, clipped to [1, n - 1]; 0 for n < 2."""
    n = np.asarray(n, dtype=np.int64)
    m = (2 * percent * n + 100) // 200
    return np.where(n >= 2, np.clip(m, 1, np.maximum(n - 1, 1)), 0)


def chrono_split(ratings: pd.DataFrame, percent: int = TEST_PERCENT) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, test): each user's latest ``held_count(n, percent)`` ratings by (timestamp, ``pair_hash``) are test.

    Both keep the input's row order and columns."""
    order = pd.DataFrame({"user": ratings["user_id"].to_numpy(), "time": ratings["timestamp"].to_numpy(),
                          "hash": pair_hash(ratings["user_id"], ratings["item_id"])}, index=ratings.index)
    order = order.sort_values(["user", "time", "hash"], kind="mergesort")
    groups = order.groupby("user", sort=False)
    n = groups["user"].transform("size").to_numpy()
    position = groups.cumcount().to_numpy()  # 0 = the user's earliest
    held = pd.Series(position >= n - held_count(n, percent), index=order.index).reindex(ratings.index)
    return ratings[~held.to_numpy()], ratings[held.to_numpy()]


def microsoft_chrono_count(n: int, ratio: float = 0.8) -> int:
    """Rows ``python_chrono_split(ratio, filter_by="user")`` holds out of a user's n: those with rank / n > ratio."""
    return int(np.sum(np.arange(1, n + 1) / n > ratio))


def split_comparison(ratings: pd.DataFrame, percent: int = TEST_PERCENT) -> dict[str, int]:
    """This rule's test rows against ``python_chrono_split(ratio=1 - percent/100, filter_by="user")``'s counts."""
    sizes = ratings.groupby("user_id").size().to_numpy()
    ours = held_count(sizes, percent)
    theirs = np.array([microsoft_chrono_count(int(n), 1 - percent / 100) for n in sizes])
    return {"users": len(sizes), "test_rows": int(ours.sum()), "microsoft_test_rows": int(theirs.sum()),
            "users_differing": int((ours != theirs).sum()), "min_ratings": int(sizes.min())}


# --- the peers --------------------------------------------------------------------------------------------


@dataclass
class Matrix:
    """A binary users x items matrix of a frame's ratings, on fixed user and item labels."""

    matrix: sp.csr_matrix
    users: np.ndarray
    items: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, users: np.ndarray, items: np.ndarray) -> Matrix:
        rows = pd.Index(users).get_indexer(frame["user_id"])
        cols = pd.Index(items).get_indexer(frame["item_id"])
        keep = (rows >= 0) & (cols >= 0)
        matrix = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (rows[keep], cols[keep])),
                               shape=(len(users), len(items)))
        matrix.sum_duplicates()
        matrix.data[:] = 1.0
        return cls(matrix, users, items)

    def recommendations(self, top: np.ndarray) -> pd.DataFrame:
        """(user_id, item_id, rank) of a users x k array of item indices (-1: none)."""
        k = top.shape[1]
        frame = pd.DataFrame({"user": np.repeat(np.arange(len(self.users)), k), "item": top.ravel(),
                              "rank": np.tile(np.arange(1, k + 1), len(self.users))})
        frame = frame[frame["item"] >= 0]
        return pd.DataFrame({"user_id": self.users[frame["user"]], "item_id": self.items[frame["item"]],
                             "rank": frame["rank"].to_numpy()})


def top_k_unseen(scores: np.ndarray, seen: sp.csr_matrix, k: int = K) -> np.ndarray:
    """Each row's k best items, its ``seen`` ones removed (in place), best first."""
    rows = np.repeat(np.arange(seen.shape[0]), np.diff(seen.indptr))
    scores[rows, seen.indices] = -np.inf
    top = np.argpartition(-scores, k, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def ease_reference(x: sp.csr_matrix, lam: float) -> np.ndarray:
    """Steck (2019), "Embarrassingly Shallow Autoencoders for Sparse Data", the paper's numpy listing."""
    g = (x.T @ x).toarray().astype(np.float64)
    diag = np.diag_indices(g.shape[0])
    g[diag] += lam
    p = np.linalg.inv(g)
    b = p / (-np.diag(p))
    b[diag] = 0
    return b


def ease_top(x: sp.csr_matrix, params: dict[str, Any], threads: int, k: int = K) -> tuple[np.ndarray, float]:
    started = time.perf_counter()
    b = ease_reference(x, params["lam"])
    fitted = time.perf_counter() - started
    return top_k_unseen(np.asarray(x @ b), x, k), fitted


def als_top(x: sp.csr_matrix, params: dict[str, Any], threads: int, k: int = K) -> tuple[np.ndarray, float]:
    from implicit.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, "blas"):  # what implicit asks for: its own threads, not BLAS's
        model = AlternatingLeastSquares(factors=params["factors"], regularization=params["regularization"],
                                        alpha=params["alpha"], iterations=params["iterations"], random_state=SEED,
                                        num_threads=threads)
        started = time.perf_counter()
        model.fit(x, show_progress=False)
        fitted = time.perf_counter() - started
        ids, _ = model.recommend(np.arange(x.shape[0]), x, N=k, filter_already_liked_items=True)
    return np.asarray(ids), fitted


@dataclass
class Peer:
    """A library used directly: its top-k function, Optuna search space and the library's defaults."""

    name: str
    top: Callable[[sp.csr_matrix, dict[str, Any], int], tuple[np.ndarray, float]]
    space: Callable[[Any], dict[str, Any]]
    defaults: dict[str, Any] = field(default_factory=dict)


def _als_space(trial: Any) -> dict[str, Any]:
    return {"factors": trial.suggest_int("factors", 8, 256, log=True),
            "regularization": trial.suggest_float("regularization", 1e-4, 10.0, log=True),
            "alpha": trial.suggest_float("alpha", 0.1, 100.0, log=True),
            "iterations": trial.suggest_int("iterations", 5, 50)}


def _ease_space(trial: Any) -> dict[str, Any]:
    return {"lam": trial.suggest_float("lam", 1.0, 10_000.0, log=True)}


PEERS = (
    Peer("implicit ALS 0.7.3 (peer)", als_top, _als_space,
         {"factors": 100, "regularization": 0.01, "alpha": 1.0, "iterations": 15}),
    Peer("EASE, Steck's reference (peer)", ease_top, _ease_space, {"lam": 500.0}),
)


def peer_row(peer: Peer, train: pd.DataFrame, test: pd.DataFrame, trials: int, threads: int) -> Row:
    """``peer`` tuned by nDCG@10 on the inner split of ``train`` (each user's latest 10 %), refitted on all of
    ``train``, its top-10 (training items removed) scored against ``test``."""
    import optuna

    users, items = np.sort(train["user_id"].unique()), np.sort(train["item_id"].unique())
    inner_train, inner_test = chrono_split(train, INNER_PERCENT)
    inner = Matrix.of(inner_train, users, items)

    def objective(trial: Any) -> float:
        top, _ = peer.top(inner.matrix, peer.space(trial), threads)
        return ranking_metrics(inner_test, inner.recommendations(top), K)["ndcg@k"]

    started = time.perf_counter()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=SEED))
    study.enqueue_trial(peer.defaults)
    study.optimize(objective, n_trials=trials)
    tuning_seconds = time.perf_counter() - started

    started = time.perf_counter()
    whole = Matrix.of(train, users, items)
    top, fit_seconds = peer.top(whole.matrix, study.best_params, threads)
    recs = whole.recommendations(top)
    seen = recs.merge(train[["user_id", "item_id"]], on=["user_id", "item_id"])
    if len(seen):
        raise AssertionError(f"{peer.name}: {len(seen)} recommendations are training items of their user")
    wall = time.perf_counter() - started
    metrics = ranking_metrics(test, recs, K)
    row = Row(peer.name, metrics, recs["item_id"].nunique() / len(items), fit_seconds, wall - fit_seconds, wall,
              study.best_value, int(inner_test["user_id"].nunique()), dict(study.best_params),
              {"trials": len(study.trials), "seconds": round(tuning_seconds, 1), "holdout_ndcg": study.best_value})
    row.space = tuple(study.best_params)
    log.info("%s: %s (tuned %d trials in %.0f s, inner nDCG@10 %.4f, params %s)", peer.name,
             {k: round(v, 4) for k, v in metrics.items()}, trials, tuning_seconds, study.best_value, study.best_params)
    return row


# --- the benchmark ----------------------------------------------------------------------------------------


@dataclass
class TimeOrderReport:
    pipeline: Report
    peers: list[Row]
    split: dict[str, int]
    peer_trials: int
    total_seconds: float


def run(data: Any, work: Path, families: tuple[str, ...] = FAMILIES, nightly_models: tuple[str, ...] = FAMILIES,
        trials: int = 20, minutes: float = 2.0, tune: bool = True, threads: int = CORES,
        trial_caps: dict[str, int] | None = None, peer_trials: int = 20, peers: tuple[Peer, ...] = PEERS,
        ) -> TimeOrderReport:
    """Benchmark (b) on ``data`` (``jobs.bench.movielens.MovieLens``): the pipeline's families, then the peers."""
    started = time.perf_counter()
    pipeline = run_benchmark(data, work, families, nightly_models, trials, minutes, tune=tune, threads=threads,
                             trial_caps=trial_caps, holdout_scope="user", outer_split=chrono_split)
    train, test = chrono_split(data.ratings)
    rows = [peer_row(peer, train, test, peer_trials, threads) for peer in peers]
    return TimeOrderReport(pipeline, rows, split_comparison(data.ratings), peer_trials,
                           time.perf_counter() - started)


# --- the section ------------------------------------------------------------------------------------------


def _f(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()) or "defaults"


def verdict(report: TimeOrderReport) -> dict[str, Any]:
    """Whom the champion beats (strictly) on nDCG@10 and on all four metrics: every family alone (its own family's
    row aside, the same model with the same params), and each peer."""
    night = report.pipeline.nightly
    if night is None:
        return {}
    champion = report.pipeline.champion.get("model")
    m = night.metrics
    others = [r for r in report.pipeline.rows if r.model != champion] + report.peers
    lost_ndcg = [r.model for r in others if not m["ndcg@k"] > r.metrics["ndcg@k"]]
    lost_any = [r.model for r in others if not all(m[key] > r.metrics[key] for key in METRICS)]
    own = next((r for r in report.pipeline.rows if r.model == champion), None)
    families_beaten = not [r for r in lost_ndcg if r in {x.model for x in report.pipeline.rows}]
    peers_beaten = not [r for r in lost_ndcg if r in {x.model for x in report.peers}]
    return {"champion": champion, "lost_ndcg": lost_ndcg, "lost_any": lost_any,
            "families": families_beaten, "peers": peers_beaten,
            "same_as_own": own is not None and all(abs(own.metrics[k] - m[k]) < 5e-5 for k in METRICS)}


def render(report: TimeOrderReport, date: str, machine: str) -> str:
    p = report.pipeline
    s = report.split
    budget = (f"tuning up to {p.trials} trials or {p.minutes:g} min per family "
              f"(caps: {', '.join(f'{k} {v}' for k, v in p.trial_caps.items())})" if p.tuned
              else "tuning skipped (`--skip-tune`: params kept from an earlier run, else the defaults)")
    lines = [
        START,
        "## Quality (b): MovieLens-100K, time-ordered, with implicit's ALS and EASE as peers",
        "",
        f"`make bench-quality` (`python -m jobs.bench.timeorder --out docs/benchmarks.md`), run on {date}; {machine}; "
        f"torch with {p.threads} thread(s); {budget}; peers {report.peer_trials} Optuna trials each; the whole "
        f"benchmark took {report.total_seconds / 60:.1f} min.",
        "",
        f"- Data: MovieLens-100K from the `recbole` {RECBOLE_VERSION} wheel, as in the Quality section "
        f"({p.data['ratings']:,} ratings, {p.data['users']} users, {p.data['items']} items).",
        f"- Outer split: per user, the ratings ordered by timestamp, ties in time broken by crc32 of "
        f"`\"<user_id>\\t<item_id>\"`; the user's latest m = round(0.2 x n) ratings are test, rounded half up "
        f"(m = floor(0.2 n + 1/2), in integers) and clipped to 1 <= m <= n - 1 ({p.data['train']:,} train / "
        f"{p.data['test']:,} test rows; every user has >= {s['min_ratings']} ratings). Microsoft Recommenders' "
        f"`python_chrono_split(ratio=0.8, filter_by=\"user\")` holds out ceil(0.2 n) instead (rank / n > 0.8): "
        f"{s['microsoft_test_rows']:,} test rows, one more for {s['users_differing']} of {s['users']} users, "
        "and its ties in time fall in `sort_values`' unspecified order. Scoring as in the Quality section: top-10 "
        "with the user's training items removed, Microsoft's MAP, nDCG@10, P@10, R@10 (`ranking_metrics`) over "
        "the users in both truth and predictions.",
        f"- The pipeline: each family alone through it in a fresh RECS_HOME (ingest of the train split, Optuna "
        f"tuning by `recs tune`'s machinery on the pipeline's holdout with `holdout_scope = \"user\"`: {p.protocol}, "
        f"each trial the mean over {p.tuning_folds} rolling-origin windows before it, tuned params adopted only "
        f"beyond {p.tuning_min_gain_se:g} standard errors; then `run_nightly` with that family alone, the published "
        "`recommendations` scored); then the whole nightly with every family as a candidate in another fresh home, "
        "tuned params, the gate choosing.",
        f"- The peers, outside the pipeline, on the same train split: `implicit`'s `AlternatingLeastSquares` "
        "(`implicit==0.7.3`, binary interactions, its own `recommend(..., filter_already_liked_items=True)`; "
        "factors, regularization, alpha, iterations tuned) and Steck's reference EASE (numpy: G = XᵀX + λI, "
        "P = G⁻¹, B = -P / diag(P), diag(B) = 0; λ tuned), each tuned with Optuna (TPE, seed 42, the "
        f"library's defaults as the first of {report.peer_trials} trials) by nDCG@10 on an inner split of the train "
        "split (each user's latest 10 % of it, the same rule), then fitted on the whole train split.",
        "- Tuning s: the tuning run (the pipeline's `tune_model`; the peers' study). Night s: `run_nightly` with that "
        "family alone, ingest to report, in the benchmark's process (a family's first run there pays its imports and "
        "warm-up: several seconds; peers: the fit on the train split and the top-10). Train s: the final fit. "
        "Holdout nDCG@10: the pipeline's on its holdout (peers: the best on their inner split).",
        "",
        "| model | MAP | nDCG@10 | P@10 | R@10 | coverage | tuning | tuning s | night s | train s | holdout nDCG@10 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in [*p.rows, *report.peers, *([p.nightly] if p.nightly else [])]:
        m = r.metrics
        tuning = f"{r.tuning['trials']} trials" if r.tuning else "–"
        if str(r.tuning.get("decision", "")).startswith("kept"):
            tuning += ", defaults kept"
        name = f"**{r.model}**" if r is p.nightly else r.model
        lines.append(f"| {name} | {m['map']:.4f} | {m['ndcg@k']:.4f} | {m['precision@k']:.4f} | {m['recall@k']:.4f} "
                     f"| {r.coverage:.3f} | {tuning} | {_f(r.tuning.get('seconds'), 0) if r.tuning else '–'} "
                     f"| {r.nightly_seconds:.1f} | {r.train_seconds:.2f} | {_f(r.holdout_ndcg)} |")
    lines += ["", "Params (the tuned fields):", ""]
    for r in [*p.rows, *report.peers]:
        decision = r.tuning.get("decision", "best trial") if r.tuning else "best trial"
        why = "" if decision == "best trial" else f" ({decision})"
        lines.append(f"- {r.model}: {_params({k: v for k, v in r.params.items() if k in r.space})}{why}")
    lines += _nightly(report)
    lines.append(END)
    return "\n".join(lines)


def _nightly(report: TimeOrderReport) -> list[str]:
    p = report.pipeline
    if not p.nightly:
        return []
    n = p.nightly
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in p.nightly_steps.items())
    holdout = ", ".join(f"{k} {_f(v)}" for k, v in sorted(p.champion.get("holdout_ndcg", {}).items(),
                                                          key=lambda kv: -(kv[1] or 0)))
    v = verdict(report)
    champion = v["champion"]
    under = "under" if n.nightly_seconds < 60 else "over"
    own = (f"Its row is {champion}'s row alone{'' if v['same_as_own'] else ' (up to refit noise)'}: the same family "
           "with the same params. " if champion in {r.model for r in p.rows} else "")
    if not v["lost_ndcg"]:
        claim = (f"The champion, {champion}, **beats every other family run alone and both peers** on nDCG@10"
                 + (", and on all four metrics." if not v["lost_any"] else
                    f"; on all four metrics it beats all but {', '.join(v['lost_any'])}."))
    else:
        claim = (f"On nDCG@10 the champion, {champion}, **does not beat** {', '.join(v['lost_ndcg'])}: "
                 f"it {'beats' if v['families'] else 'does not beat'} every family run alone and "
                 f"{'beats' if v['peers'] else 'does not beat'} both peers.")
        if v["lost_any"] != v["lost_ndcg"]:
            claim += f" On all four metrics it does not beat {', '.join(v['lost_any'])}."
    return [
        "",
        f"**Nightly run** (a fresh home, tuned params, tuning excluded), candidates {', '.join(p.nightly_models)}: "
        f"**{n.nightly_seconds:.1f} s** from ingest to report, {under} a minute on {p.threads} cores ({steps}). "
        f"The gate picked **{champion}** by the holdout's nDCG@10 ({holdout}). The gate's reason: "
        f"\"{p.champion.get('reason', '')}\".",
        "",
        f"**Champion against every family alone and the peers**: {own}{claim}",
    ]


def place_markers(path: Path) -> None:
    """Put empty markers right after the diversity section when the file has none (else ``write_section`` appends)."""
    if not path.exists():
        return
    text = path.read_text()
    if START in text or AFTER not in text:
        return
    head, tail = text.split(AFTER, 1)
    write_text(path, f"{head}{AFTER}\n\n{START}\n{END}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.timeorder", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "outputs" / "bench-timeorder",
                        help="homes and kept params (never committed); apart from the Quality section's")
    parser.add_argument("--cache", type=Path, default=PROJECT_ROOT / "outputs" / "bench" / "cache",
                        help="where the recbole wheel is kept (shared with jobs.bench.quality)")
    parser.add_argument("--families", type=names, default=FAMILIES, help="comma-separated model families")
    parser.add_argument("--nightly-models", type=names, default=NIGHTLY_MODELS,
                        help="candidates of the whole nightly run (default: the default recs.toml's; '' to skip it)")
    parser.add_argument("--trials", type=int, default=20, help="Optuna trials per family")
    parser.add_argument("--minutes", type=float, default=2.0, help="tuning time per family")
    parser.add_argument("--trials-two-tower", type=int, default=TRIAL_CAPS["two_tower"])
    parser.add_argument("--peer-trials", type=int, default=20, help="Optuna trials per peer")
    parser.add_argument("--skip-tune", action="store_true", help="reuse the params kept from an earlier run")
    parser.add_argument("--threads", type=int, default=CORES)
    parser.add_argument("--wheel", type=Path, help="a recbole wheel already on disk (no download)")
    args = parser.parse_args(argv)
    quiet_logs()
    nightly_models = args.nightly_models
    unknown = (set(args.families) | set(nightly_models)) - set(FAMILIES)
    if unknown:
        parser.error(f"unknown families: {', '.join(sorted(unknown))}")
    data = load_ml100k(args.cache, args.wheel)
    report = run(data, args.work, args.families, nightly_models, args.trials, args.minutes, tune=not args.skip_tune,
                 threads=args.threads, trial_caps={**TRIAL_CAPS, "two_tower": args.trials_two_tower},
                 peer_trials=args.peer_trials)
    place_markers(args.out)
    write_section(args.out, render(report, datetime.now(UTC).date().isoformat(), machine_text()), START, END)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "report.json").write_text(json.dumps(asdict(report), indent=2, default=str))
    print(f"wrote {args.out} ({report.total_seconds / 60:.1f} min)")


if __name__ == "__main__":
    main()
