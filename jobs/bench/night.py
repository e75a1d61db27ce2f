"""One benchmark night, in its own process: the real ``run_nightly`` with every step timed and its peak RSS taken.

``python -m jobs.bench.night --size 5M --root outputs/bench --out night.json`` ingests the data set's history
CSV into a fresh RECS_HOME (timed: the bulk ingest) and its items, lands the last day's file, then runs ``run_nightly``
(ingest that day, snapshot, train the candidates with their stored params, evaluate, choose the champion, score
every user, similar items, build and check the release, publish, report). The steps are measured by wrapping
the functions ``run_nightly`` calls (the module attributes of ``jobs.steps`` and ``jobs.train.candidates``), so what is
timed is exactly what ``recs run`` executes.

Peak memory per step is the process's RSS high-water mark (VmHWM), reset at the start of each step through
``/proc/self/clear_refs`` (Linux); where that is not allowed, the process's peak so far (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobs.bench.data import BENCH_SIZES, as_of, dataset, fresh_home, land_day, to_dict
from jobs.records import RunContext


def _hwm_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


class Meter:
    """Nested timers: each records wall seconds and its peak RSS; an enclosing step's peak covers its parts."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self._stack: list[list[int]] = []  # per open step: [peak KiB seen so far]
        self.exact = _reset_hwm()

    def run(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._stack:  # what the parent reached so far must survive the reset
            self._stack[-1][0] = max(self._stack[-1][0], _hwm_kib())
        _reset_hwm()
        self._stack.append([0])
        row: dict[str, Any] = {"step": name, "depth": len(self._stack) - 1}
        self.rows.append(row)
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            row["seconds"] = time.perf_counter() - started
            peak = max(self._stack.pop()[0], _hwm_kib())
            row["peak_rss_mb"] = peak / 1024
            if self._stack:
                self._stack[-1][0] = max(self._stack[-1][0], peak)

    def wrap(self, module: Any, attr: str, label: Callable[..., str]) -> None:
        original = getattr(module, attr)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            return self.run(label(*args, **kwargs), original, *args, **kwargs)

        setattr(module, attr, timed)


#: Per size, what the fast night changes in [train] besides its models: the default time budget (4 minutes of fits)
#: is sized for MovieLens-20M; at 100M iALS's two fits are estimated at about 4.2 minutes, and an operator of such
#: a catalogue gives the night the budget its 15-minute target allows.
FAST_NIGHT_TRAIN: dict[str, dict[str, Any]] = {"100M": {"night_budget_minutes": 10}}


def run_night(size: str, root: Path, seed: int = 42, shards: int = 1, default_config: bool = False) -> dict[str, Any]:
    """One night at ``size``: popularity and iALS with stored params (the benchmark's fast night), or with
    ``default_config`` the candidates, params and budget of the default recs.toml, as a new user gets them."""
    from jobs import steps
    from jobs.bench.host import probe
    from jobs.config import load_settings
    from jobs.ingest import ingest_paths
    from jobs.train import candidates

    host = probe()  # before the data: what this machine delivers tonight, to read the times against
    data = dataset(size, root, seed)
    home = fresh_home(data, root, stored_params=not default_config, name=f"{size}-default" if default_config else size)
    settings = load_settings(home)
    train = {} if default_config else {"models": ("popularity", "ials"), **FAST_NIGHT_TRAIN.get(size, {})}
    settings = settings.with_overrides(train=train, score={"top_n": 100, "shards": shards})
    meter = Meter()
    history = home / "landing" / "ratings" / data.history.name
    started = time.perf_counter()
    bulk = meter.run("bulk ingest (history CSV)", ingest_paths, settings, [history])
    bulk_seconds = time.perf_counter() - started
    meter.run("ingest items", ingest_paths, settings, [home / "landing" / "items" / data.items_file.name], kind="items")
    land_day(data, home)

    meter.wrap(steps, "ingest_files", lambda *a, **k: "ingest (the day's file)")
    meter.wrap(steps, "freeze_snapshot", lambda *a, **k: "freeze snapshot")
    meter.wrap(steps, "evaluate_candidate", lambda run, model, *a, **k: f"evaluate candidate {model}")
    fits: dict[str, int] = {}

    def fit_label(model: Any, data: Any, *args: Any, **kwargs: Any) -> str:
        fits[model.name] = fits.get(model.name, 0) + 1  # the training split; then all data, the champion only
        # The all-data fit is the champion's, whichever model won: one row across sizes.
        return f"fit {model.name} (training split)" if fits[model.name] == 1 else "fit the champion (all data)"

    meter.wrap(candidates, "fit_timed", fit_label)
    meter.wrap(candidates, "evaluate", lambda model, *a, **k: f"holdout metrics {model.name}")
    meter.wrap(steps, "choose_champion", lambda *a, **k: "choose champion")
    meter.wrap(steps, "fit_champion", lambda *a, **k: "fit champion")
    meter.wrap(steps, "popular_items", lambda *a, **k: "popular items")
    meter.wrap(steps, "score_shard", lambda run, champion, shard, *a, **k:
               f"score shard {shard + 1}/{k['settings'].score.shards} (top-100)")
    meter.wrap(steps, "similar_items", lambda *a, **k: "similar items")
    meter.wrap(steps, "build_release", lambda *a, **k: "build + check release")
    meter.wrap(steps, "publish", lambda *a, **k: "publish")
    meter.wrap(steps, "write_report", lambda *a, **k: "report")
    night = meter.run("whole night", steps.run_nightly, settings, as_of=as_of(data))
    night_row = next(r for r in meter.rows if r["step"] == "whole night")
    # What the time budget let through (the rest is in skipped_candidates): the candidates evaluated tonight.
    evaluated = [r["step"].removeprefix("evaluate candidate ") for r in meter.rows if r["step"].startswith("evaluate candidate ")]
    run_files = settings.layout.run(RunContext.from_xcom(night["run"]).key)
    return {
        "size": size,
        "default_config": default_config,
        "host": host,
        "models": list(settings.train.models),
        "evaluated": evaluated,
        "data": to_dict(data),
        "home": str(home),
        "run_dir": str(run_files.root),
        "run_id": night["run"]["run_id"],
        "bulk_ingest": {"rows": bulk.n_rows_read, "seconds": bulk_seconds, "rows_per_s": bulk.n_rows_read / bulk_seconds},
        "night_ingest": night["ingested"],
        "champion": night["champion"],
        "holdout_ndcg": holdout_ndcg(run_files),
        "tables": night["tables"],
        "steps": meter.rows,
        "night_seconds": night_row["seconds"],
        "night_peak_rss_mb": night_row["peak_rss_mb"],
        "process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_exact": meter.exact,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def holdout_ndcg(files: Any) -> dict[str, float]:
    """Each evaluated candidate's nDCG@10 on the night's holdout, from its metrics record."""
    from jobs.train.candidates import load_metrics

    out = {}
    for key, record in load_metrics(files).items():
        values = [m["value"] for m in record["metrics"] if m["metric"] == "ndcg" and m["k"] == 10]
        if values:
            out[key] = values[0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.bench.night", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(BENCH_SIZES), required=True)
    parser.add_argument("--root", type=Path, default=Path("outputs/bench"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--default-config", action="store_true",
                        help="the default recs.toml's candidates and budget, no stored params (a new user's night)")
    parser.add_argument("--out", type=Path, required=True, help="write the measurements here (JSON)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    result = run_night(args.size, args.root.resolve(), args.seed, args.shards, args.default_config)
    args.out.write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
