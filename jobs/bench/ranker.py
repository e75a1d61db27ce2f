"""The hybrid's learning-to-rank stage on benchmarks (a) and (b): rankers, objectives and base sets side by side.

Both protocols of the Quality sections, their outer splits unchanged: (a) Microsoft's per-item stratified 75/25
(``jobs.bench.quality.microsoft_split``), (b) each user's latest 20 % (``jobs.bench.timeorder.chrono_split``).
Each variant of ``models.hybrid`` (``VARIANTS``: base sets, ranker, objective, pool size, the rank-agreement
features) and each reference base alone is fitted in this process, outside the pipeline, twice per protocol:

- validation: fitted on an inner split of the train split, the only figure a choice may read: (a) 10 % of each
  item's train rows (``python_stratified_split(ratio=0.9, filter_by="item", seed=42)``), (b) each user's latest
  10 % of the train split (``chrono_split(train, 10)``), as the pipeline's own holdouts;
- test: fitted on the whole train split, top-10 with the user's training items removed, scored against the
  test split with Microsoft's MAP, nDCG@10, P@10, R@10 (``ranking_metrics``), for transparency only.

Each row also gives the paired per-user nDCG@10 difference against EASE alone (mean and standard error over the
users scored), and the fit seconds on the train split (the hybrid fits its bases twice: on a label split of its
data, or on each of its folds, to train the ranker, then on all of it). The choice reads validation only: the
hybrid's defaults stand unless a variant's paired per-user validation gain over them, averaged over the two
protocols, exceeds ``MIN_GAIN_SE`` standard errors (tuning's noise guard); a variant needing lightgbm has to
pass it to make lightgbm a dependency. The section goes to ``--out`` between ``<!-- ranker:start -->`` and
``<!-- ranker:end -->``; ``--out`` elsewhere (a scratch file) for experiments.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobs.bench.movielens import REFERENCE, MovieLens, load_ml100k, python_stratified_split, ranking_metrics
from jobs.bench.page import machine_text, write_section
from jobs.bench.protocols import interactions
from jobs.bench.quality import K, microsoft_split, names, quiet_logs
from jobs.bench.timeorder import chrono_split
from jobs.config import PROJECT_ROOT
from models.base import TrainOptions
from models.evaluation import top_items
from models.metrics import paired_difference
from models.registry import build

log = logging.getLogger("recs.bench_ranker")

START, END = "<!-- ranker:start -->", "<!-- ranker:end -->"
SEED = 42
#: The noise guard of the choice, as tuning's (``[train] tuning_min_gain_se``): a variant replaces the hybrid's
#: defaults only when its validation gain over them, pooled over the protocols, exceeds this many standard errors.
MIN_GAIN_SE = 2.0
DEFAULTS = "hybrid defaults (5-fold cross-fitting, hgb, labels in the protocol's order, time features)"
METRICS = ("map", "ndcg@k", "precision@k", "recall@k")
TODAY = ("ease", "itemknn", "content_tfidf", "popularity")
VARIED = ("ease", "rp3beta", "ials", "popularity")
#: iALS as a base: alpha 1, regularization 10. Its defaults (alpha 10, regularization 1) are sized for large data;
#: alone on the validation splits here these scored nDCG@10 0.165 (a) / 0.122 (b) against 0.133 / 0.111.
IALS = {"alpha": 1.0, "regularization": 10.0}


@dataclass(frozen=True)
class Variant:
    """A named model to compare: a registry family and its config params."""

    name: str
    family: str
    params: dict[str, Any] = field(default_factory=dict)


def hybrid(name: str, bases: tuple[str, ...], **params: Any) -> Variant:
    """A hybrid on ``bases`` (the content base with its mean profile, as the hybrid's default; iALS as ``IALS``)."""
    base_params = {"content_tfidf": {"profile": "mean"}, "ials": IALS}
    return Variant(name, "hybrid", {"base_models": bases, "base_params": {b: base_params[b] for b in bases
                                                                          if b in base_params}, **params})


#: The reference (EASE alone, the project's best single family) first: every row's paired difference is against it.
REFERENCES = (Variant("ease", "ease"), Variant("itemknn", "itemknn"), Variant("rp3beta", "rp3beta"),
              Variant("ials (alpha 1, regularization 10)", "ials", IALS))
ALL_SIX = ("ease", "rp3beta", "ials", "itemknn", "content_tfidf", "popularity")
VARIANTS = (
    hybrid("before: one 20 % label split, no agreement features", TODAY, label_folds=1, agreement=False),
    hybrid("one 20 % label split", TODAY, label_folds=1),
    Variant(DEFAULTS, "hybrid"),
    Variant("defaults, lightgbm binary", "hybrid", {"ranker": "lightgbm"}),
    Variant("defaults, lightgbm lambdarank", "hybrid", {"ranker": "lightgbm", "objective": "lambdarank"}),
    Variant("defaults, 100 candidates per base", "hybrid", {"candidates_per_model": 100}),
    hybrid("ease+rp3beta+ials+pop", VARIED),
    hybrid("ease+rp3beta+ials+pop, lightgbm binary", VARIED, ranker="lightgbm"),
    hybrid("ease+rp3beta+ials+itemknn+content+pop", ALL_SIX),
    # Mult-VAE fits take ~20 s here: one label split (2 fits of each base), not 6.
    hybrid("ease+rp3beta+ials+vae+pop, one 20 % label split", ("ease", "rp3beta", "ials", "vae", "popularity"),
           label_folds=1),
    # Timestamps (MovieLens' own, which both protocols keep): labels in time order, and time features.
    Variant("before: random labels, no time features", "hybrid", {"label_order": "random", "time_features": False}),
    Variant("defaults, random labels", "hybrid", {"label_order": "random"}),
    Variant("defaults, time-ordered labels on both", "hybrid", {"label_order": "time"}),
    Variant("defaults, no time features", "hybrid", {"time_features": False}),
)


@dataclass
class Result:
    """One variant on one protocol: validation and test figures."""

    variant: str
    family: str
    params: dict[str, Any]
    validation_ndcg: float
    validation_diff: tuple[float, float]
    test: dict[str, float]
    test_diff: tuple[float, float]
    fit_seconds: float
    validation_fit_seconds: float
    #: The paired per-user validation nDCG@10 difference against the hybrid's defaults (mean, standard error).
    validation_vs_defaults: tuple[float, float] = (0.0, 0.0)


@dataclass
class Protocol:
    """An outer split of the ratings and the inner split of its train part."""

    name: str
    title: str
    outer: Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]
    inner: Callable[[pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]
    #: The pipeline's ``holdout_scope`` for this protocol (the Quality sections' runs), as fits are told it.
    scope: str


PROTOCOLS = (
    Protocol("a", "(a) Microsoft protocol: per-item stratified 75/25, seed 42", microsoft_split,
             lambda train: python_stratified_split(train, ratio=0.9, filter_by="item", seed=SEED), "random"),
    Protocol("b", "(b) time-ordered: each user's latest 20 % held out", chrono_split,
             lambda train: chrono_split(train, 10), "user"),
)


def per_user_ndcg(truth: pd.DataFrame, recs: pd.DataFrame, k: int = K) -> pd.Series:
    """nDCG@k of each user in both ``truth`` and ``recs`` (``ranking_metrics``' formula; 0 without a hit)."""
    users = np.intersect1d(truth["user_id"].unique(), recs["user_id"].unique())
    truth = truth[truth["user_id"].isin(users)][["user_id", "item_id"]]
    top = recs[recs["user_id"].isin(users) & (recs["rank"] <= k)]
    hits = top.merge(truth, on=["user_id", "item_id"])
    dcg = (1.0 / np.log1p(hits["rank"].to_numpy(dtype=float))) if len(hits) else np.zeros(0)
    dcg = pd.Series(dcg, index=hits["user_id"].to_numpy()).groupby(level=0).sum().reindex(users, fill_value=0.0)
    actual = truth.groupby("user_id").size().reindex(users).to_numpy()
    ideal = np.concatenate(([0.0], np.cumsum(1.0 / np.log1p(np.arange(1, k + 1)))))
    return pd.Series(dcg.to_numpy() / ideal[np.minimum(actual, k)], index=users)


def fit_and_recommend(variant: Variant, train: pd.DataFrame, items: pd.DataFrame,
                      scope: str | None = None) -> tuple[pd.DataFrame, float]:
    """(top-K recommendations of every train user, training items removed; fit seconds) of ``variant``, told
    that the fit is judged by protocol ``scope``."""
    data, _ = interactions(train, items)
    started = time.perf_counter()
    model = build(variant.family, variant.params).fit(data, TrainOptions(seed=SEED, device="cpu", holdout_scope=scope))
    seconds = time.perf_counter() - started
    users = np.arange(data.n_users)
    top = top_items(model, users, K, data.matrix)
    keep = top >= 0
    recs = pd.DataFrame({"user_id": np.repeat(data.user_ids, K).reshape(top.shape)[keep],
                         "item_id": data.item_ids[np.where(keep, top, 0)][keep],
                         "rank": np.tile(np.arange(1, K + 1), (len(users), 1))[keep]})
    return recs, seconds


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(user_id=frame["user_id"].astype(str), item_id=frame["item_id"].astype(str))


def run_protocol(protocol: Protocol, data: MovieLens, variants: tuple[Variant, ...]) -> list[Result]:
    """Every variant fitted on the inner split (validation) and on the whole train split (test) of ``protocol``."""
    train, test = protocol.outer(data.ratings)
    inner_train, inner_test = protocol.inner(train)
    truth = {"validation": as_text(inner_test), "test": as_text(test)}
    fits = {"validation": inner_train, "test": train}
    per_user: dict[str, dict[str, pd.Series]] = {"validation": {}, "test": {}}
    results = []
    for variant in variants:
        figures: dict[str, Any] = {}
        for part in ("validation", "test"):
            recs, seconds = fit_and_recommend(variant, fits[part], data.items, protocol.scope)
            figures[part] = (ranking_metrics(truth[part], recs, K), seconds)
            per_user[part][variant.name] = per_user_ndcg(truth[part], recs)
        diffs = {}
        for part in ("validation", "test"):
            reference, ours = per_user[part][variants[0].name], per_user[part][variant.name]
            common = reference.index.intersection(ours.index)
            mean, se, _ = paired_difference((ours[common] - reference[common]).to_numpy())
            diffs[part] = (mean, se)
        result = Result(variant.name, variant.family, variant.params, figures["validation"][0]["ndcg@k"],
                        diffs["validation"], figures["test"][0], diffs["test"], figures["test"][1],
                        figures["validation"][1])
        log.info("(%s) %s: validation nDCG@10 %.4f (%+.4f), test %s (%+.4f +- %.4f), fit %.1f s", protocol.name,
                 variant.name, result.validation_ndcg, diffs["validation"][0],
                 {m: round(result.test[m], 4) for m in METRICS}, *diffs["test"], result.fit_seconds)
        results.append(result)
    if DEFAULTS in per_user["validation"]:
        reference = per_user["validation"][DEFAULTS]
        for result in results:
            ours = per_user["validation"][result.variant]
            common = reference.index.intersection(ours.index)
            mean, se, _ = paired_difference((ours[common] - reference[common]).to_numpy())
            result.validation_vs_defaults = (mean, se)
    return results


def pooled_gain(results: dict[str, list[Result]], variant: str) -> tuple[float, float]:
    """``variant``'s validation gain over the hybrid's defaults, averaged over the protocols (mean, its SE)."""
    diffs = [r.validation_vs_defaults for rows in results.values() for r in rows if r.variant == variant]
    return float(np.mean([m for m, _ in diffs])), float(np.sqrt(sum(se**2 for _, se in diffs))) / len(diffs)


def chosen(results: dict[str, list[Result]]) -> str:
    """The hybrid variant to make the default: the defaults, unless variants beat them on validation by more than
    ``MIN_GAIN_SE`` standard errors pooled over the protocols; then the one of those with the best mean
    validation nDCG@10."""
    means: dict[str, list[float]] = {}
    for rows in results.values():
        for r in rows:
            if r.family == "hybrid":
                means.setdefault(r.variant, []).append(r.validation_ndcg)
    if DEFAULTS not in means:
        return max(means, key=lambda name: float(np.mean(means[name])))
    winners = [name for name in means if name != DEFAULTS
               and pooled_gain(results, name)[0] > MIN_GAIN_SE * pooled_gain(results, name)[1]]
    return max(winners, key=lambda name: float(np.mean(means[name]))) if winners else DEFAULTS


def _params(params: dict[str, Any]) -> str:
    """Config params in one line; base_params left out (always those of ``hybrid``, named in the section)."""
    shown = {k: ("+".join(v) if isinstance(v, tuple) else v) for k, v in params.items() if k != "base_params"}
    return ", ".join(f"{k}={v}" for k, v in shown.items()) or "defaults"


def render(results: dict[str, list[Result]], date: str, machine: str, seconds: float, lightgbm: str | None) -> str:
    pick = chosen(results)
    lines = [
        START,
        "## Hybrid ranker: rankers, objectives and base sets on benchmarks (a) and (b)",
        "",
        f"`python -m jobs.bench.ranker --out docs/benchmarks.md`, run on {date}; {machine}; torch, BLAS and the "
        f"boosters on 1 thread; lightgbm {lightgbm or 'not installed'}; the whole comparison took "
        f"{seconds / 60:.1f} min.",
        "",
        "- Each model is fitted in process on MovieLens-100K's train split of the protocol (outer splits as in the "
        "Quality sections (a) and (b), unchanged), configs as named (the rest defaults; EASE regularization 250).",
        "- Validation nDCG@10: the same model fitted on an inner split of the train split, (a) 10 % of each item's "
        "train rows held out (`python_stratified_split(ratio=0.9, filter_by=\"item\", seed=42)`), (b) each user's "
        "latest 10 % of it. **The choice reads only these figures**; the test columns are for transparency.",
        "- Test: fitted on the whole train split, top-10 with the user's training items removed, Microsoft's MAP, "
        "nDCG@10, P@10, R@10 against the test split. Δ vs EASE: the paired per-user nDCG@10 difference against "
        "EASE alone, mean ± standard error; val Δ vs defaults: the same on validation against the hybrid's defaults. "
        "Fit s: the fit on the train split (a hybrid fits its bases once per label fold, then on all of it: 6 times "
        "with the defaults' 5 folds, twice with one label split).",
        "",
    ]
    for protocol in PROTOCOLS:
        rows = results.get(protocol.name)
        if not rows:
            continue
        lines += [f"### {protocol.title}", "",
                  "| model | val nDCG@10 | val Δ vs EASE | val Δ vs defaults | MAP | nDCG@10 | P@10 | R@10 "
                  "| test Δ vs EASE | fit s |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            m = r.test
            name = f"**{r.variant}**" if r.variant == pick else r.variant
            vs = (f"{r.validation_vs_defaults[0]:+.4f} ± {r.validation_vs_defaults[1]:.4f}"
                  if r.family == "hybrid" and r.variant != DEFAULTS else "–")
            lines.append(f"| {name} | {r.validation_ndcg:.4f} | {r.validation_diff[0]:+.4f} ± {r.validation_diff[1]:.4f} | {vs} "
                         f"| {m['map']:.4f} | {m['ndcg@k']:.4f} | {m['precision@k']:.4f} | {m['recall@k']:.4f} "
                         f"| {r.test_diff[0]:+.4f} ± {r.test_diff[1]:.4f} | {r.fit_seconds:.1f} |")
        if protocol.name == "a":
            lines.append(f"| {REFERENCE['model']} (published) | – | – | {REFERENCE['map']:.4f} | "
                         f"{REFERENCE['ndcg@k']:.4f} | {REFERENCE['precision@k']:.4f} | {REFERENCE['recall@k']:.4f} "
                         "| – | – | – |")
        lines.append("")
    lines += ["Configs (bases at their defaults, but content_tfidf with its mean profile, the hybrid's default, and "
              "iALS with alpha 1, regularization 10 wherever named):", ""]
    first = next(iter(results.values()))
    lines += [f"- {r.variant}: `{r.family}` {_params(r.params)}" for r in first]
    mean_val = {r.variant: float(np.mean([x.validation_ndcg for rows in results.values() for x in rows
                                          if x.variant == r.variant])) for r in first if r.family == "hybrid"}
    lines += ["", f"**The choice, by validation only**: the defaults stand unless a variant's validation nDCG@10 gain "
              f"over them, the paired per-user difference averaged over the protocols, exceeds {MIN_GAIN_SE:g} "
              "standard errors (the noise guard tuning uses, `[train] tuning_min_gain_se`). Mean validation "
              "nDCG@10 over the protocols, and the pooled gain over the defaults:", ""]
    for name, value in sorted(mean_val.items(), key=lambda kv: -kv[1]):
        gain = "" if name == DEFAULTS or DEFAULTS not in mean_val else \
            " ({:+.4f} ± {:.4f})".format(*pooled_gain(results, name))
        lines.append(f"- {name}: {value:.4f}{gain}")
    lines += ["", f"Chosen: **{pick}**.", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.ranker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--cache", type=Path, default=PROJECT_ROOT / "outputs" / "bench" / "cache",
                        help="where the recbole wheel is kept (shared with jobs.bench.quality)")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "outputs" / "bench-ranker",
                        help="where the figures are kept as JSON (never committed)")
    parser.add_argument("--protocols", type=names, default=tuple(p.name for p in PROTOCOLS), help="a, b or a,b")
    parser.add_argument("--variants", type=names, default=(),
                        help="comma-separated indices into VARIANTS (default: all); the references always run")
    parser.add_argument("--wheel", type=Path, help="a recbole wheel already on disk (no download)")
    args = parser.parse_args(argv)
    quiet_logs()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    try:
        import lightgbm
        lightgbm_version: str | None = lightgbm.__version__
    except ImportError:
        lightgbm_version = None
    variants = VARIANTS if not args.variants else tuple(VARIANTS[int(i)] for i in args.variants)
    if lightgbm_version is None:
        variants = tuple(v for v in variants if v.params.get("ranker") != "lightgbm")
    data = load_ml100k(args.cache, args.wheel)
    started = time.perf_counter()
    results = {}
    with threadpool_limits(1):
        for protocol in PROTOCOLS:
            if protocol.name in args.protocols:
                results[protocol.name] = run_protocol(protocol, data, REFERENCES + variants)
    seconds = time.perf_counter() - started
    write_section(args.out, render(results, datetime.now(UTC).date().isoformat(), machine_text(), seconds,
                                   lightgbm_version), START, END)
    args.work.mkdir(parents=True, exist_ok=True)
    (args.work / "report.json").write_text(json.dumps({k: [asdict(r) for r in v] for k, v in results.items()},
                                                      indent=2, default=str))
    print(f"wrote {args.out} ({seconds / 60:.1f} min)")


if __name__ == "__main__":
    main()
