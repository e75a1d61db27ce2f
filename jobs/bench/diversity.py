"""``make bench-quality`` (after ``jobs.bench.quality``): the nightly champion's accuracy against diversity on
MovieLens-100K, Microsoft Recommenders' protocol (data, split and metrics: ``jobs.bench.movielens``).

Per diversity value (``--diversities``, default 0, 0.1, 0.25, 0.5): a fresh RECS_HOME with the train split in its
landing folders (``jobs.bench.quality.make_home``: top-10, the gate judging on a random holdout stratified by
item), ``run_nightly`` with the default config's candidates plus itemknn and rp3beta at their stored defaults (no
tuning), and the trigger's ``diversity`` override (``Settings.with_params``) on the default placement, the only
one scored. Same data, same seed: every home should crown the same champion (each row says which). The published
``recommendations`` are scored against the test split; ILD@10 and novelty@10 are the run's own figures of the
published default list (``model_metrics`` rows with split 'published', placement 'default'). The section goes to
``--out`` between ``<!-- diversity:start -->`` and ``<!-- diversity:end -->``, right after the Quality section
the first time.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from jobs.bench import quality
from jobs.bench.movielens import REFERENCE, MovieLens, load_ml100k, python_stratified_split, score_recommendations
from jobs.bench.page import machine_text, write_section
from jobs.bench.quality_report import END as QUALITY_END
from jobs.config import DEFAULT_CONFIG, PROJECT_ROOT, load_settings
from jobs.files import write_text
from jobs.score.placements import MIN_POOL, POOL_FACTOR
from jobs.serving import open_published

log = logging.getLogger("recs.bench_diversity")

START, END = "<!-- diversity:start -->", "<!-- diversity:end -->"
DIVERSITIES = (0.0, 0.1, 0.25, 0.5)
EXTRA_MODELS = ("itemknn", "rp3beta")
K = quality.K
COMMAND = "python -m jobs.bench.diversity --out docs/benchmarks.md"


@dataclass
class Point:
    """One diversity value's night: its champion, the published top-10 scored, the list figures, the wall time."""

    diversity: float
    champion: str
    metrics: dict[str, float]
    ild: float
    novelty: float
    coverage: float
    night_seconds: float


@dataclass
class Curve:
    points: list[Point]
    models: tuple[str, ...]
    protocol: str
    data: dict[str, int]
    threads: int
    total_seconds: float


def candidate_models() -> tuple[str, ...]:
    """The default config's candidates, then itemknn and rp3beta (once each)."""
    return tuple(dict.fromkeys((*load_settings(config=DEFAULT_CONFIG).train.models, *EXTRA_MODELS)))


def published_figures(serving: Path, run_id: str) -> dict[str, float]:
    """The run's ILD and novelty of the published default list (model_metrics, split 'published')."""
    with contextlib.closing(open_published(serving)) as con:
        rows = con.execute("select metric, value from model_metrics where run_id = ? and split = 'published' "
                           "and placement = 'default' and metric in ('ild', 'novelty') and k = ?", [run_id, K]).fetchall()
    figures = dict(rows)
    if set(figures) != {"ild", "novelty"}:
        raise AssertionError(f"run {run_id}: published model_metrics lack ild/novelty@{K} of the default list: {figures}")
    return figures


def run_curve(data: MovieLens, work: Path, diversities: tuple[float, ...] = DIVERSITIES,
              models: tuple[str, ...] | None = None, threads: int = quality.CORES) -> Curve:
    """One fresh home and one night per diversity value, each scored against the same test split."""
    import torch

    torch.set_num_threads(threads)
    models = models or candidate_models()
    started = time.perf_counter()
    train, test = python_stratified_split(data.ratings, ratio=0.75, filter_by="item", seed=42)
    points, protocol = [], ""
    for diversity in diversities:
        settings = quality.make_home(work / f"home-{diversity:g}", train, data.items, "random", "item")
        settings = settings.with_params({"diversity": diversity, "placements": []})  # the default placement only
        protocol = settings.train.protocol
        run_id = f"bench-diversity-{diversity:g}"
        result, _, wall = quality.nightly(settings, models, run_id)
        metrics, coverage = score_recommendations(settings.layout.serving, train, test, K)
        figures = published_figures(settings.layout.serving, run_id)
        point = Point(diversity, result["champion"]["model"], metrics, figures["ild"], figures["novelty"],
                      coverage, wall)
        log.info("diversity %g: champion %s, ndcg@10 %.4f, ild %.4f, novelty %.3f, coverage %.3f, %.1f s",
                 diversity, point.champion, metrics["ndcg@k"], point.ild, point.novelty, coverage, wall)
        points.append(point)
    counts = {"ratings": len(data.ratings), "train": len(train), "test": len(test)}
    return Curve(points, tuple(models), protocol, counts, threads, time.perf_counter() - started)


def _pct(new: float, old: float) -> str:
    return f"{(new - old) / old * 100:+.1f} %" if old else "n/a"


def reading(curve: Curve) -> str:
    """The trade-off in one paragraph, from the numbers."""
    points = sorted(curve.points, key=lambda p: p.diversity)
    base, top = points[0], points[-1]
    if len(points) < 2:
        return f"One diversity value only ({base.diversity:g}): no trade-off to read."
    champions = sorted({p.champion for p in points})
    same = (f"The gate crowned {champions[0]} at every value, so the rows differ by the re-ranking alone"
            if len(champions) == 1 else
            f"The champion differed between homes ({', '.join(f'{p.diversity:g}: {p.champion}' for p in points)}), "
            "so the rows mix the re-ranking with a change of model")
    ilds = [p.ild for p in points]
    shape = "rises at every step" if all(b >= a for a, b in zip(ilds, ilds[1:])) else "does not rise at every step"
    steps = []
    for prev, p in zip(points, points[1:]):
        d_ild, d_ndcg = p.ild - prev.ild, prev.metrics["ndcg@k"] - p.metrics["ndcg@k"]
        cost = f"{d_ndcg / d_ild:.2f} nDCG@10 lost per unit of ILD gained" if d_ild > 0 else "no ILD gained"
        steps.append(f"{prev.diversity:g}→{p.diversity:g}: ILD {d_ild:+.4f}, nDCG@10 {-d_ndcg:+.4f} ({cost})")
    ref = REFERENCE["ndcg@k"]
    above = [p.diversity for p in points if p.metrics["ndcg@k"] >= ref]
    bivae = (f"Rows at or above BiVAE's nDCG@10 ({ref:.4f}): diversity {', '.join(f'{d:g}' for d in above)}"
             if above else f"No row reaches BiVAE's nDCG@10 ({ref:.4f})")
    return (f"{same}. From diversity {base.diversity:g} to {top.diversity:g}, ILD@10 goes from {base.ild:.4f} to "
            f"{top.ild:.4f} ({_pct(top.ild, base.ild)}; it {shape}), novelty@10 from {base.novelty:.2f} to "
            f"{top.novelty:.2f} bits ({_pct(top.novelty, base.novelty)}) and coverage from {base.coverage:.3f} to "
            f"{top.coverage:.3f}, while nDCG@10 goes from {base.metrics['ndcg@k']:.4f} to {top.metrics['ndcg@k']:.4f} "
            f"({_pct(top.metrics['ndcg@k'], base.metrics['ndcg@k'])}) and MAP from {base.metrics['map']:.4f} to "
            f"{top.metrics['map']:.4f} ({_pct(top.metrics['map'], base.metrics['map'])}). Step by step: "
            f"{'; '.join(steps)}. {bivae}. The night's wall time ranges "
            f"{min(p.night_seconds for p in points):.1f}–{max(p.night_seconds for p in points):.1f} s.")


def render(curve: Curve, date: str, machine: str) -> str:
    """The section, markers included."""
    pool = max(POOL_FACTOR * K, MIN_POOL)
    lines = [
        START,
        "### Accuracy against diversity (MMR re-ranking), MovieLens-100K",
        "",
        f"`make bench-quality` (`{COMMAND}`), run on {date}; {machine}; torch with {curve.threads} thread(s); "
        f"{len(curve.points)} nights in {curve.total_seconds / 60:.1f} min.",
        "",
        f"- Protocol as in the Quality section: `python_stratified_split(ratio=0.75, filter_by=\"item\", seed=42)` "
        f"({curve.data['train']:,} train / {curve.data['test']:,} test rows), top-{K} with the user's training items "
        "removed, Microsoft Recommenders' nDCG@10, P@10, R@10 and MAP against the test split.",
        f"- One fresh RECS_HOME per diversity value, `run_nightly` with candidates {', '.join(curve.models)} at their "
        f"stored defaults (no tuning), the gate judging on {curve.protocol}; the trigger's `diversity` override "
        f"(`Settings.with_params`) on the default placement, the only one scored: maximal marginal relevance over "
        f"each user's top-{pool} by the champion's item similarities (0 = rank by score).",
        "- ILD@10 and novelty@10: the run's published `model_metrics` rows (split 'published', placement 'default'): "
        "1 - mean pairwise cosine of a list's items on SVD vectors of the training matrix, and mean self-information "
        "-log2(users of the item / users), averaged over lists. Coverage: distinct items recommended / items in the "
        "train split. Night s: `run_nightly` from ingest to report.",
        "",
        "| diversity | champion | nDCG@10 | P@10 | R@10 | MAP | ILD@10 | novelty@10 | coverage | night s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in curve.points:
        m = p.metrics
        lines.append(f"| {p.diversity:g} | {p.champion} | {m['ndcg@k']:.4f} | {m['precision@k']:.4f} | "
                     f"{m['recall@k']:.4f} | {m['map']:.4f} | {p.ild:.4f} | {p.novelty:.2f} | {p.coverage:.3f} | "
                     f"{p.night_seconds:.1f} |")
    return "\n".join([*lines, "", reading(curve), END])


def write_curve(out: Path, section: str) -> None:
    """``write_section``, but a first section goes right after the Quality section rather than at the end."""
    text = out.read_text() if out.exists() else ""
    if START not in text and QUALITY_END in text:
        write_text(out, text.replace(QUALITY_END, f"{QUALITY_END}\n\n{START}\n{END}", 1))
    write_section(out, section, START, END)


def _values(text: str) -> tuple[float, ...]:
    return tuple(float(v) for v in text.split(",") if v.strip())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.diversity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "outputs" / "bench",
                        help="cache and homes (never committed); homes under <work>/diversity/")
    parser.add_argument("--diversities", type=_values, default=DIVERSITIES, help="comma-separated, each in [0, 1]")
    parser.add_argument("--threads", type=int, default=quality.CORES, help="torch threads")
    parser.add_argument("--wheel", type=Path, help="a recbole wheel already on disk (no download)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("recs.steps", "recs.train", "recs.ingest", "recs.snapshot", "recs.champion", "recs.score",
                  "recs.release", "recs.publish", "recs.similar"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TQDM_DISABLE", "1")
    data = load_ml100k(args.work / "cache", args.wheel)
    curve = run_curve(data, args.work / "diversity", args.diversities, threads=args.threads)
    write_curve(args.out, render(curve, datetime.now(UTC).date().isoformat(), machine_text()))
    print(pd.DataFrame([{"diversity": p.diversity, "champion": p.champion, **p.metrics, "ild": p.ild,
                         "novelty": p.novelty, "coverage": p.coverage, "night_s": p.night_seconds}
                        for p in curve.points]).round(4).to_string(index=False))
    print(f"wrote {args.out} ({curve.total_seconds / 60:.1f} min)")


if __name__ == "__main__":
    main()
