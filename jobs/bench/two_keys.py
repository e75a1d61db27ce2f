"""Benchmark (a) the way a user runs it: a ``RECS_CONFIG`` holding only the two holdout keys, then the ``recs``
commands as the README shows them, and the published table scored by Microsoft's protocol.

    python -m jobs.bench.two_keys [--out docs/benchmarks.md] [--trials N --minutes M]

A fresh RECS_HOME (``<work>/two-keys-home``) gets (a)'s train split and the items in its landing folders, exactly
as ``jobs.bench.quality`` writes them, and a config file of two lines under ``[train]``: ``holdout_scope =
"random"`` and ``holdout_stratify = "item"``. Then, each a separate process (the installed ``recs`` entry point):
``recs ingest``, ``recs tune`` (every default candidate, recs.toml's budget unless ``--trials``/``--minutes``
say otherwise) and ``recs run --top-n 10``. The ``recommendations`` table it publishes is read back and scored
against the test split, which never enters the home. The table goes to ``--out`` between
``<!-- two-keys:start -->`` and ``<!-- two-keys:end -->``, beside the nightly champion of ``make bench-quality``'s
last report (``<work>/report.json``) when there is one: the two should agree, since both tune and run the same
defaults on the same split.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobs.bench.movielens import load_ml100k, score_recommendations, write_landing
from jobs.bench.page import machine_text, write_section
from jobs.bench.quality import K, microsoft_split
from jobs.config import PROJECT_ROOT, load_settings
from jobs.train.candidates import load_metrics

START, END = "<!-- two-keys:start -->", "<!-- two-keys:end -->"
#: The whole configuration a user writes for benchmark (a)'s protocol; every other key keeps recs.toml's default.
TWO_KEYS = '[train]\nholdout_scope = "random"\nholdout_stratify = "item"\n'
METRICS = ("map", "ndcg@k", "precision@k", "recall@k")  # ranking_metrics' names, at k = K


def recs_command() -> list[str]:
    """The installed ``recs`` entry point beside this interpreter (``make install`` puts it there), else the module."""
    script = Path(sys.executable).with_name("recs")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jobs.cli"]


def recs(args: list[str], env: dict[str, str]) -> tuple[dict[str, Any] | list[Any], float]:
    """Run ``recs ARGS --json`` in its own process: (its JSON result, wall seconds). Fails with its output."""
    started = time.perf_counter()
    done = subprocess.run([*recs_command(), *args, "--json"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"recs {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout), time.perf_counter() - started


def reproduce(train: Any, test: Any, items: Any, home: Path, tune_args: list[str] | None = None) -> dict[str, Any]:
    """ingest, tune, run in a fresh ``home`` configured by ``TWO_KEYS`` only; the published table scored."""
    shutil.rmtree(home, ignore_errors=True)
    write_landing(home / "landing", train, items)
    config = home / "recs.toml"
    config.write_text(TWO_KEYS)
    env = {**os.environ, "RECS_HOME": str(home), "RECS_CONFIG": str(config), "TQDM_DISABLE": "1"}
    _, ingest_s = recs(["ingest", *map(str, (home / "landing" / "items").iterdir()), "--kind", "items"], env)
    _, ingest_ratings_s = recs(["ingest", *map(str, (home / "landing" / "ratings").iterdir())], env)
    tuned, tune_s = recs(["tune", *(tune_args or [])], env)
    run, run_s = recs(["run", "--top-n", str(K)], env)
    settings = load_settings(home=home, config=config)
    metrics, coverage = score_recommendations(settings.layout.serving, train, test, K)
    champion = run["champion"]
    champion["params"] = load_metrics(settings.layout.run(run["run"]["run_id"]))[champion["model"]]["params"]
    return {"protocol": settings.train.protocol, "tuned": tuned, "champion": champion, "metrics": metrics,
            "coverage": coverage, "seconds": {"ingest": ingest_s + ingest_ratings_s, "tune": tune_s, "run": run_s}}


def benchmark_champion(report: Path) -> dict[str, Any] | None:
    """The nightly champion's row of ``make bench-quality``'s last report, if it has one."""
    if not report.exists():
        return None
    night = json.loads(report.read_text()).get("nightly")
    return night and {"model": night["model"].removeprefix("nightly champion: "), "metrics": night["metrics"],
                      "params": night["params"]}


def markdown(result: dict[str, Any], bench: dict[str, Any] | None, date: str, machine: str) -> str:
    """The section: the CLI's champion beside the benchmark's, and each study tuning settled on."""
    header = ("| run | champion | its params | MAP | nDCG@10 | Precision@10 | Recall@10 |\n"
              "|---|---|---|---:|---:|---:|---:|\n")

    def row(name: str, model: str, params: dict[str, Any], metrics: dict[str, float]) -> str:
        values = " | ".join(f"{metrics[m]:.4f}" for m in METRICS)
        return f"| {name} | {model} | {json.dumps(params, sort_keys=True)} | {values} |\n"

    champion = result["champion"]
    table = header + row("`recs` commands, the two keys only", champion["model"], champion["params"],
                         result["metrics"])
    if bench:
        table += row("`make bench-quality`'s nightly (its last report)", bench["model"], bench["params"],
                     bench["metrics"])
    studies = "".join(f"- `{t['study']}`: {t['trials_new']} new trials, {t['decision']}\n" for t in result["tuned"])
    s = result["seconds"]
    return (f"{START}\n## Benchmark (a) through the `recs` commands with only the two holdout keys ({date})\n\n"
            f"`.venv/bin/python -m jobs.bench.two_keys --out docs/benchmarks.md`, on {machine}. The config file is "
            f"`[train] holdout_scope = \"random\"`, `holdout_stratify = \"item\"` and nothing else (protocol: "
            f"{result['protocol']}); then `recs ingest`, `recs tune`, `recs run --top-n 10`, each its own process. "
            f"Ingest {s['ingest']:.0f} s, tune {s['tune'] / 60:.1f} min, run {s['run']:.0f} s.\n\n{table}\n"
            f"Tuning's decisions:\n{studies}\nThe gate: {result['champion']['reason']}.\n{END}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.two_keys", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, help="write the section into this page (default: print it)")
    parser.add_argument("--work", type=Path, default=PROJECT_ROOT / "outputs" / "bench")
    parser.add_argument("--trials", type=int, help="recs tune --trials (default: recs.toml's)")
    parser.add_argument("--minutes", type=float, help="recs tune --minutes (default: recs.toml's)")
    parser.add_argument("--wheel", type=Path, help="a recbole wheel already on disk (no download)")
    args = parser.parse_args(argv)
    data = load_ml100k(args.work / "cache", args.wheel)
    train, test = microsoft_split(data.ratings)
    tune_args = [*(["--trials", str(args.trials)] if args.trials else []),
                 *(["--minutes", str(args.minutes)] if args.minutes else [])]
    result = reproduce(train, test, data.items, args.work / "two-keys-home", tune_args)
    text = markdown(result, benchmark_champion(args.work / "report.json"), datetime.now(UTC).date().isoformat(),
                    machine_text())
    (args.work / "two-keys.json").write_text(json.dumps(result, indent=2, default=str))
    if args.out:
        write_section(args.out, text, START, END)
        print(f"wrote {args.out}")
    else:
        print(text)


if __name__ == "__main__":
    main()
