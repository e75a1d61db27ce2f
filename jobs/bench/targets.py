"""The scale benchmark's targets (the performance issue's), how each step grows with the data, and the cost of one
score shard at the largest size: the closing parts of the Scale section of docs/benchmarks.md."""

from __future__ import annotations

import math
from typing import Any

#: The targets, checked at the size each names. 20M: the fast night (popularity + iALS, stored params) and its
#: kernels side by side with implicit; 100M: the whole night on this 2-core machine; the default recs.toml's night
#: at 20M (its own section).
TARGETS = {
    "ingest_rows_per_s": 3_000_000,
    "night_seconds_20M": 90, "night_rss_mb_20M": 6 * 1024,
    "night_seconds_100M": 15 * 60, "night_rss_mb_100M": 20 * 1024,
    "train_ratio": 0.6,  # iALS's time per iteration / implicit's
    "scoring_speedup": 2.0,  # implicit's recommend time / ours
    "default_night_seconds": 300, "default_night_rss_mb": 10 * 1024,
}
#: The 20M fast night's holdout nDCG@10 before the work on its speed (docs/benchmarks.md of 2026-12-02): the
#: champion must stay within 1 % of it.
REFERENCE_NDCG_20M = 0.2946


def mark(ok: bool) -> str:
    return "met" if ok else "**short**"


def _top_steps(night: dict[str, Any]) -> dict[str, float]:
    """Seconds of the night's top-level steps, the score shards added up."""
    out: dict[str, float] = {}
    for row in night["steps"]:
        if row["depth"] == 1 or row["step"] == "whole night":
            name = "score (all shards)" if row["step"].startswith("score shard") else row["step"]
            out[name] = out.get(name, 0.0) + row["seconds"]
    return out


def growth(results: dict[str, Any], sizes: list[str], plot: str | None) -> list[str]:
    """The log-log plot and, per step, the exponent b of seconds ~ interactions^b between consecutive sizes."""
    if len(sizes) < 2:
        return []
    nights = [results["sizes"][s]["night"] for s in sizes]
    steps = [_top_steps(n) for n in nights]
    pairs = list(zip(range(len(sizes) - 1), range(1, len(sizes))))
    out = ["", "### How each step grows with the data", ""]
    if plot:
        out += [f"![seconds against interactions, log-log, one line per step]({plot})", ""]
    out += ["The exponent b in seconds ~ interactions^b between two sizes (1 = linear; the night's fixed costs, "
            "imports and file opens, pull small sizes below 1).", "",
            "| step | " + " | ".join(f"{sizes[a]} → {sizes[b]}" for a, b in pairs) + " |",
            "|---|" + "---:|" * len(pairs)]
    for name in steps[-1]:
        cells = []
        for a, b in pairs:
            ta, tb = steps[a].get(name), steps[b].get(name)
            xa, xb = nights[a]["data"]["n_ratings"], nights[b]["data"]["n_ratings"]
            ok = ta and tb and ta > 0 and tb > 0
            cells.append(f"{math.log(tb / ta) / math.log(xb / xa):.2f}" if ok else "")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*out, *_shard_cost(results, sizes[-1])]


def _shard_cost(results: dict[str, Any], size: str) -> list[str]:
    """What one score shard costs at ``size``: users, seconds, peak RSS (for sizing workers)."""
    night = results["sizes"][size]["night"]
    shards = [r for r in night["steps"] if r["step"].startswith("score shard")]
    if len(shards) < 2:
        return []
    users = night["data"]["n_users"] / len(shards)
    out = ["", f"Score shards at {size} ({len(shards)} shards, about {users:,.0f} users each; each loads the snapshot "
           "and the champion itself, as a worker would):", "", "| shard | seconds | peak RSS (MiB) |", "|---|---:|---:|"]
    out += [f"| {r['step']} | {r['seconds']:.1f} | {r['peak_rss_mb']:,.0f} |" for r in shards]
    return out


def verdicts(results: dict[str, Any]) -> list[str]:
    """One line per target, for the sizes that were run."""
    sizes = results["sizes"]
    lines: list[str] = []
    if "20M" in sizes:
        night, kernels = sizes["20M"]["night"], sizes["20M"].get("kernels")
        rate = night["bulk_ingest"]["rows_per_s"]
        lines.append(f"- Ingest at 20M: {rate:,.0f} rows/s (target >= {TARGETS['ingest_rows_per_s']:,}): "
                     f"{mark(rate >= TARGETS['ingest_rows_per_s'])}.")
        lines.append(_night_line(night, "20M"))
        ndcg = night.get("holdout_ndcg", {}).get(night["champion"]["model"])
        if ndcg is not None:
            change = ndcg / REFERENCE_NDCG_20M - 1
            lines.append(f"- Quality at 20M: the champion's holdout nDCG@10 {ndcg:.4f} against {REFERENCE_NDCG_20M} before "
                         f"({100 * change:+.2f} %, target within 1 %): {mark(abs(change) <= 0.01)}.")
        lines += _kernel_lines(kernels)
    if "100M" in sizes:
        lines.append(_night_line(sizes["100M"]["night"], "100M"))
    return lines


def _night_line(night: dict[str, Any], size: str) -> str:
    seconds, rss = night["night_seconds"], night["night_peak_rss_mb"]
    limit_s, limit_mb = TARGETS[f"night_seconds_{size}"], TARGETS[f"night_rss_mb_{size}"]
    return (f"- Whole night at {size}: {seconds:.0f} s (target <= {limit_s} s): {mark(seconds <= limit_s)}; peak RSS "
            f"{rss:,.0f} MiB (target <= {limit_mb:,}): {mark(rss <= limit_mb)}.")


def _kernel_lines(kernels: dict[str, Any] | None) -> list[str]:
    if not kernels:
        return []
    score, train = kernels["scoring"], kernels["training"]
    lines = []
    if "implicit_s" in score:
        speedup = score["implicit_s"] / score["ours_s"]
        lines.append(f"- Scoring at 20M: {speedup:.1f}x implicit's speed (target >= {TARGETS['scoring_speedup']}x): "
                     f"{mark(speedup >= TARGETS['scoring_speedup'])}; {score['ours_gflops']:.0f} GFLOP/s, "
                     f"{100 * score['ours_gflops'] / kernels['roof_gflops']:.0f} % of the roof.")
    if "implicit_s" in train:
        ratio = train["ours_s"] / train["implicit_s"]
        lines.append(f"- iALS training at 20M: {ratio:.2f}x implicit's time per iteration (target <= "
                     f"{TARGETS['train_ratio']}x): {mark(ratio <= TARGETS['train_ratio'])}; nDCG@10 "
                     f"{train['ours_quality']['ndcg@10']:.4f} against {train['implicit_quality']['ndcg@10']:.4f}.")
    return lines
