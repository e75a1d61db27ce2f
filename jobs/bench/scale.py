"""Scale benchmark: the nightly pipeline on seeded synthetic data at several sizes, written to docs/benchmarks.md.

``python -m jobs.bench --sizes 1M,5M,20M,100M --out docs/benchmarks.md`` (``make bench``). For each size it

1. generates (once, then cached) the seeded rating set (``jobs.bench.data``; 20M is shaped like MovieLens-20M:
   about 138k users, 27k items, power-law popularity);
2. runs one night in a fresh process (``jobs.bench.night``): the bulk ingest of the history CSV, then
   ``run_nightly`` on the last day's file with popularity and iALS as candidates (iALS's stored params in
   outputs/tuning), recording every step's wall time and peak RSS;
3. measures the kernels in another fresh process (``jobs.bench.kernels``): the machine's matrix-product roof,
   scoring every user's top-100 against ``implicit``'s ``recommend``, iALS training against ``implicit``'s ALS
   (up to 20M: at 100M implicit's side alone would take longer than the night).

100M (700k users x 100k items) scores in ``SHARDS["100M"]`` shards, so its table gives the cost of one shard
for sizing workers (README, "Scaling out"). ``jobs.bench.plot`` draws how each step grows (docs/scale.svg).

The results replace the part of ``--out`` between ``<!-- scale:start -->`` and ``<!-- scale:end -->`` (the rest
of the file, e.g. the quality benchmarks, is left as it is). These are benchmarks, not tests: nothing here fails
on a slow machine; the section says which targets were met. CI runs the smallest size as a smoke test.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobs.bench import page, plot, targets
from jobs.bench.data import BENCH_SIZES, IALS_PARAMS, parse_sizes
from jobs.bench.host import describe
from jobs.files import write_text

START, END = "<!-- scale:start -->", "<!-- scale:end -->"
#: Sizes whose kernels are measured (implicit's ALS and recommend at 100M would take longer than the night).
KERNELS_MAX_RATINGS = 20_000_000
#: Score shards per size (default 1): at 100M the night's table then shows what one worker's shard costs.
SHARDS = {"100M": 4}
#: The size of the night with the default recs.toml (the issue's target is at MovieLens-20M's shape).
DEFAULT_NIGHT_SIZE = "20M"


def _child(module: str, args: list[str], out: Path) -> dict[str, Any]:
    """Run ``python -m module args --out out`` and read its JSON (a fresh process: its own peak RSS)."""
    command = [sys.executable, "-m", module, *args, "--out", str(out)]
    print("$", " ".join(command), flush=True)
    subprocess.run(command, check=True)
    return json.loads(out.read_text())


def machine() -> dict[str, Any]:
    import duckdb
    import torch

    try:
        import implicit

        implicit_version = implicit.__version__
    except ImportError:
        implicit_version = "not installed"
    return {**page.machine(), "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "duckdb": duckdb.__version__, "implicit": implicit_version}


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def run(sizes: list[str], root: Path, default_night: bool = True) -> dict[str, Any]:
    root.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"sizes": {}, "machine": machine(), "started": datetime.now(UTC).isoformat(timespec="seconds"),
                               "load_before": load_average()}
    for size in sizes:
        started = time.perf_counter()
        night = _child("jobs.bench.night", ["--size", size, "--root", str(root), "--shards", str(SHARDS.get(size, 1))],
                       root / f"night-{size}.json")
        kernels = (_child("jobs.bench.kernels", ["--run-dir", night["run_dir"]], root / f"kernels-{size}.json")
                   if BENCH_SIZES[size][0] <= KERNELS_MAX_RATINGS else None)
        results["sizes"][size] = {"night": night, "kernels": kernels, "seconds": time.perf_counter() - started,
                                  "load_after": load_average()}
        print(summary_line(size, night, kernels), flush=True)
    if default_night and sizes:  # what a new user gets: the default recs.toml, nothing tuned
        size = DEFAULT_NIGHT_SIZE if DEFAULT_NIGHT_SIZE in sizes else sizes[-1]
        results["default_night"] = _child("jobs.bench.night", ["--size", size, "--root", str(root), "--default-config"],
                                          root / f"night-{size}-default.json")
    results["load_after"] = load_average()
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def summary_line(size: str, night: dict[str, Any], kernels: dict[str, Any] | None) -> str:
    head = [f"{size}: night {night['night_seconds']:.1f} s, peak RSS {night['night_peak_rss_mb']:,.0f} MiB",
            f"ingest {night['bulk_ingest']['rows_per_s']:,.0f} rows/s"]
    if kernels is None:
        return "; ".join(head)
    score, train = kernels["scoring"], kernels["training"]
    parts = [*head,
             f"scoring {score['ours_s']:.1f} s = {score['ours_gflops']:.0f} GFLOP/s (roof {kernels['roof_gflops']:.0f}"
             + (f", implicit {score['implicit_s']:.1f} s = {score['implicit_gflops']:.0f} GFLOP/s)" if "implicit_s" in score else ")"),
             f"iALS {train['ours_s_per_it']:.2f} s/it" + (f" vs implicit {train['implicit_s_per_it']:.2f} s/it" if "implicit_s" in train else "")]
    return "; ".join(parts)


# --- the markdown section ---------------------------------------------------------------------------------

def _n(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k" if x >= 1e3 else f"{x:.0f}"


def _cell(row: dict[str, Any] | None) -> str:
    return "" if row is None else f"{row['seconds']:.1f} s ({row['peak_rss_mb']:,.0f})"


def _steps_table(results: dict[str, Any], sizes: list[str]) -> list[str]:
    names: list[tuple[int, str]] = []
    for size in sizes:
        for row in results["sizes"][size]["night"]["steps"]:
            key = (row["depth"], row["step"])
            if key not in names:
                names.append(key)
    lines = ["| step | " + " | ".join(sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for depth, name in names:
        cells = []
        for size in sizes:
            rows = [r for r in results["sizes"][size]["night"]["steps"] if (r["depth"], r["step"]) == (depth, name)]
            cells.append(_cell(rows[0] if rows else None))
        label = ("&nbsp;" * 4 * max(depth - 1, 0) + ("↳ " if depth > 1 else "")) + (f"**{name}**" if depth == 0 else name)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def _quality(q: dict[str, float] | None) -> str:
    return "" if not q else f"{q['ndcg@10']:.4f} / {q['recall@10']:.4f}"


def _intro(results: dict[str, Any], sizes: list[str], command: str) -> list[str]:
    """The command, the machine and the data sets."""
    m = results["machine"]
    out = [
        START,
        "## Scale",
        "",
        f"Command: `{command}` (`make bench`). Run {results['started']} to {results['finished']} (UTC).",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM; {m['os']}; Python {m['python']}, "
        f"torch {m['torch']} ({m['torch_threads']} threads), DuckDB {m['duckdb']}, implicit {m['implicit']}. "
        f"Load average (1/5/15 min) before: {results['load_before']}; after: {results['load_after']}.",
        *[f"At {size}, {describe(results['sizes'][size]['night']['host'])}." for size in sizes
          if "host" in results["sizes"][size]["night"]],
        "",
        "Data: the seeded generator (`jobs/sample/data.py`, seed 42) over 42 days; the history (all days but the last) "
        "is ingested first, then one night runs on the last day's file (`jobs/bench/data.py`).",
        "",
        "| size | ratings | users | items | history rows | the night's file |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        d = results["sizes"][size]["night"]["data"]
        out.append(f"| {size} | {_n(d['n_ratings'])} | {_n(d['n_users'])} | {_n(d['n_items'])} | {d['history_rows']:,} | {d['day_rows']:,} |")
    return out


def _night(results: dict[str, Any], sizes: list[str]) -> list[str]:
    """The night step by step, and the ingest rates."""
    out = [
        "",
        "### The night, step by step: wall seconds (peak RSS, MiB)",
        "",
        "One process per size runs `run_nightly` (what `recs run` does) with models popularity and iALS "
        f"(stored params {json.dumps(IALS_PARAMS)}), top-100 for every user, one shard. Peak RSS is the process's "
        "high-water mark during the step (reset at each step's start); a step's figure covers its sub-steps. "
        "The gate's champion, the one model refitted on all data: "
        + ", ".join(f"{size} {results['sizes'][size]['night']['champion']['model']}" for size in sizes) + ".",
        "",
        *_steps_table(results, sizes),
        "",
        "### Ingest (validated, through DuckDB's CSV reader)",
        "",
        "| size | file | rows | seconds | rows/s |",
        "|---|---|---:|---:|---:|",
    ]
    for size in sizes:
        night = results["sizes"][size]["night"]
        bulk = night["bulk_ingest"]
        out.append(f"| {size} | history CSV | {bulk['rows']:,} | {bulk['seconds']:.1f} | {bulk['rows_per_s']:,.0f} |")
        day = next((r for r in night["steps"] if r["step"].startswith("ingest (the day")), None)
        if day and night["night_ingest"].get("n_rows_read"):
            rows = night["night_ingest"]["n_rows_read"]
            out.append(f"| {size} | the night's file (checked against the loaded ratings for duplicates) | {rows:,} | "
                       f"{day['seconds']:.1f} | {rows / day['seconds']:,.0f} |")
    return out


DEFAULT_START, DEFAULT_END = "<!-- default_night:start -->", "<!-- default_night:end -->"


def default_night_section(night: dict[str, Any]) -> str:
    """The night a new user gets: the default recs.toml's candidates and time budget, no stored params."""
    size = night["size"]
    skipped = [m for m in night["models"] if m not in night["evaluated"]]
    out = [
        DEFAULT_START,
        f"## The night with the default recs.toml at {size}: wall seconds (peak RSS, MiB)",
        "",
        f"`python -m jobs.bench --default-night {size} --out docs/benchmarks.md` (also run by `make bench`), "
        f"run {night.get('finished', '2026-12-02')} on {page.machine_text()}: the data and steps of the Scale section, "
        f"with the default candidates ({', '.join(night['models'])}) at their default params and the default "
        "`[train] night_budget_minutes`, top-100 for every user. "
        + (f"Skipped by the time budget tonight: {', '.join(skipped)} (see `skipped_candidates`). " if skipped else
           "No candidate was skipped by the time budget. ")
        + f"Champion: {night['champion']['model']}. Whole night {night['night_seconds']:.0f} s "
        f"(target <= {targets.TARGETS['default_night_seconds']} s: "
        f"{targets.mark(night['night_seconds'] <= targets.TARGETS['default_night_seconds'])}), peak RSS "
        f"{night['night_peak_rss_mb']:,.0f} MiB (target <= {targets.TARGETS['default_night_rss_mb']:,}: "
        f"{targets.mark(night['night_peak_rss_mb'] <= targets.TARGETS['default_night_rss_mb'])}).",
        "",
        "| step | seconds (peak RSS) |",
        "|---|---:|",
    ]
    for row in night["steps"]:
        depth, name = row["depth"], row["step"]
        label = ("&nbsp;" * 4 * max(depth - 1, 0) + ("↳ " if depth > 1 else "")) + (f"**{name}**" if depth == 0 else name)
        out.append(f"| {label} | {_cell(row)} |")
    return "\n".join([*out, DEFAULT_END]) + "\n"


def _scoring(results: dict[str, Any], sizes: list[str]) -> list[str]:
    """Scoring every user's top-100, against the roof and implicit's recommend."""
    sizes = [s for s in sizes if results["sizes"][s].get("kernels")]
    roofs = {s: results["sizes"][s]["kernels"]["roof_gflops"] for s in sizes}
    out = [
        "",
        "### Scoring: every user's top-100 unseen items, same factors",
        "",
        "GFLOP/s = 2 x users x items x factors / seconds (dense-equivalent: ours skips the products that cannot reach a "
        "user's top-100 by the Cauchy-Schwarz bound, see `models/topk.py`, so the figure is the rate of the whole job, "
        "not of the products computed). Roof: a square 2048^3 float32 `torch.mm` in the same process (the best of "
        "several). Plain: chunked matmul + seen-item mask + `torch.topk` of every row. implicit: "
        "`AlternatingLeastSquares.recommend(all users, N=100, filter_already_liked_items=True)` with our factors, its "
        "threads = torch's. Agreement: share of our top-100 items that implicit lists too.",
        "",
        "| size | users x items x factors | ours s | ours GFLOP/s | % of roof | plain s | implicit s | implicit GFLOP/s | implicit s / ours s | roof GFLOP/s | agreement |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        s = results["sizes"][size]["kernels"]["scoring"]
        roof = roofs[size]
        imp = (f"{s['implicit_s']:.1f} | {s['implicit_gflops']:.0f} | {s['implicit_s'] / s['ours_s']:.2f}"
               if "implicit_s" in s else "n/a | n/a | n/a")
        out.append(f"| {size} | {_n(s['users'])} x {_n(s['items'])} x {s['factors']} | {s['ours_s']:.1f} | {s['ours_gflops']:.0f} | "
                   f"{100 * s['ours_gflops'] / roof:.0f} % | {s['plain_s']:.1f} | {imp} | {roof:.0f} | {s.get('agreement', float('nan')):.4f} |")
    return out


def _training(results: dict[str, Any], sizes: list[str]) -> list[str]:
    """iALS training against implicit's ALS."""
    sizes = [s for s in sizes if results["sizes"][s].get("kernels")]
    out = [
        "",
        "### Training: iALS against implicit's ALS (conjugate gradient), same matrix, factors, iterations, threads",
        "",
        "Both on the night's training split (the most recent 10 % held out); quality is nDCG@10 / recall@10 on that "
        "holdout through the same evaluation code. implicit gets alpha + 1 (its confidence is alpha x r, ours 1 + alpha x r).",
        "",
        "| size | interactions | ours s/iteration | implicit s/iteration | ours / implicit | ours nDCG@10 / recall@10 | implicit nDCG@10 / recall@10 |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for size in sizes:
        t = results["sizes"][size]["kernels"]["training"]
        if "implicit_s" in t:
            imp = f"{t['implicit_s_per_it']:.2f} | {t['ours_s'] / t['implicit_s']:.2f}"
        else:
            imp = "n/a | n/a"
        out.append(f"| {size} | {_n(t['nnz'])} | {t['ours_s_per_it']:.2f} | {imp} | {_quality(t['ours_quality'])} | "
                   f"{_quality(t.get('implicit_quality'))} |")
    return out


def section(results: dict[str, Any], command: str, plot: str | None = None) -> str:
    sizes = list(results["sizes"])
    out = [*_intro(results, sizes, command), *_night(results, sizes), *targets.growth(results, sizes, plot),
           *_scoring(results, sizes), *_training(results, sizes),
           "", "### Against the targets", "", *targets.verdicts(results), END]
    return "\n".join(out) + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace the scale section of ``path`` (between the markers) with ``text``; keep everything else."""
    page.write_section(path, text, START, END)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,5M,20M,100M", help=f"comma-separated, of {', '.join(BENCH_SIZES)}")
    parser.add_argument("--out", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--root", type=Path, default=Path("outputs/bench"), help="data sets and benchmark homes")
    parser.add_argument("--from-results", type=Path, help="rewrite the section from a saved results.json (no run)")
    parser.add_argument("--default-night", metavar="SIZE", help="only the night with the default recs.toml at SIZE")
    parser.add_argument("--no-default-night", action="store_true",
                        help="the sizes only, without the night with the default recs.toml at the largest")
    parser.add_argument("--default-from", type=Path, help="write that section from a saved night JSON (no run)")
    args = parser.parse_args(argv)
    if args.default_night or args.default_from:
        night = (json.loads(args.default_from.read_text()) if args.default_from else
                 _child("jobs.bench.night", ["--size", args.default_night, "--root", str(args.root.resolve()),
                                             "--default-config"], args.root / f"night-{args.default_night}-default.json"))
        page.write_section(args.out, default_night_section(night), DEFAULT_START, DEFAULT_END)
        print(f"wrote the default-night section of {args.out}")
        return 0
    if args.from_results:
        results = json.loads(args.from_results.read_text())
        sizes = list(results["sizes"])
    else:
        sizes = parse_sizes(args.sizes)
        results = run(sizes, args.root.resolve(), default_night=not args.no_default_night)
        (args.root / "results.json").write_text(json.dumps(results, indent=2, default=str))
    command = f"python -m jobs.bench --sizes {','.join(sizes)} --out {args.out}"
    svg = args.out.parent / "scale.svg"
    write_text(svg, plot.loglog_svg(plot.step_lines(results), "The night's steps against the data (make bench)"))
    write_section(args.out, section(results, command, svg.name))
    if results.get("default_night"):
        page.write_section(args.out, default_night_section(results["default_night"]), DEFAULT_START, DEFAULT_END)
    print(f"wrote the scale section of {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
