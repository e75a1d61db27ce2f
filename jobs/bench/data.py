"""Benchmark inputs: seeded synthetic rating sets written once as landing files, and a fresh RECS_HOME per run.

A data set is the ``jobs.sample.data`` generator at a preset size (``SIZES``: 1M, 5M, 20M shaped like
MovieLens-20M; plus the tiny ``50k`` for the CI smoke test and ``100M``, 700k users x 100k items), written as CSV in two files: ``history.csv``
(every day but the last: what earlier nights ingested) and ``ratings_<last day>.csv`` (the one day a nightly
run ingests), plus ``items.csv``. Files are cached under ``<root>/data/<size>-s<seed>/`` and reused while the
generator's arguments are unchanged (``meta.json``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from jobs.files import replacing, write_json
from jobs.layout import OutputLayout
from jobs.sample.data import DEFAULT_END_DATE, SIZES, generate_items, generate_ratings

#: Benchmark sizes: name -> (ratings, users, items). The presets of jobs.sample.data, plus a tiny one for smoke
#: tests and 100M shaped like a large catalogue (seeded, generated at run time, never in CI: 2.5 GB of CSV).
BENCH_SIZES: dict[str, tuple[int, int, int]] = {
    "50k": (50_000, 1_000, 1_200), **SIZES, "100M": (100_000_000, 700_000, 100_000),
}
DAYS = 42
#: The params the nightly champion (iALS) trains with: written to outputs/tuning/ials.best.json in the bench
#: home, and used for implicit's ALS too (same factors, regularisation, alpha, iterations).
IALS_PARAMS: dict[str, Any] = {"factors": 64, "regularization": 1.0, "alpha": 10.0, "iterations": 15}


@dataclass(frozen=True)
class DataSet:
    size: str
    folder: Path
    n_ratings: int
    n_users: int
    n_items: int
    history_rows: int
    day_rows: int
    day: str  # the last day (YYYY-MM-DD): its ratings are the night's landing file
    generate_seconds: float

    @property
    def history(self) -> Path:
        return self.folder / "history.csv"

    @property
    def day_file(self) -> Path:
        return self.folder / f"ratings_{self.day}.csv"

    @property
    def items_file(self) -> Path:
        return self.folder / "items.csv"


def parse_sizes(text: str) -> list[str]:
    sizes = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in BENCH_SIZES]
    if unknown:
        raise ValueError(f"unknown size(s) {unknown}; known: {', '.join(BENCH_SIZES)}")
    return sizes


def _write_csv(path: Path, columns: dict[str, np.ndarray]) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with replacing(path) as tmp:
        pacsv.write_csv(pa.table(columns), tmp, pacsv.WriteOptions(quoting_style="none"))


def dataset(size: str, root: Path, seed: int = 42) -> DataSet:
    """The landing files of ``size`` (generated on first use, then reused)."""
    n_ratings, n_users, n_items = BENCH_SIZES[size]
    folder = root / "data" / f"{size}-s{seed}"
    meta = folder / "meta.json"
    wanted = {"size": size, "n_ratings": n_ratings, "n_users": n_users, "n_items": n_items, "seed": seed,
              "days": DAYS, "end": DEFAULT_END_DATE.isoformat()}
    if meta.exists():
        saved = json.loads(meta.read_text())
        if saved.get("wanted") == wanted:
            return DataSet(folder=folder, **saved["set"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    frame = generate_ratings(n_ratings, n_users, n_items, days=DAYS, end_date=DEFAULT_END_DATE, seed=seed)
    cut = int(datetime.combine(DEFAULT_END_DATE, datetime.min.time(), UTC).timestamp())
    last = frame["timestamp"].to_numpy() >= cut
    columns = {name: frame[name].to_numpy() for name in ("user_id", "item_id", "rating", "timestamp")}
    day = DEFAULT_END_DATE.isoformat()
    _write_csv(folder / "history.csv", {k: v[~last] for k, v in columns.items()})
    _write_csv(folder / f"ratings_{day}.csv", {k: v[last] for k, v in columns.items()})
    generate_items(n_items, seed).to_csv(folder / "items.csv", index=False, lineterminator="\n")
    info = {"size": size, "n_ratings": n_ratings, "n_users": n_users, "n_items": n_items,
            "history_rows": int((~last).sum()), "day_rows": int(last.sum()), "day": day,
            "generate_seconds": round(time.perf_counter() - started, 1)}
    meta.write_text(json.dumps({"wanted": wanted, "set": info}, indent=2))
    return DataSet(folder=folder, **info)


def fresh_home(data: DataSet, root: Path, stored_params: bool = True, name: str | None = None) -> Path:
    """An empty RECS_HOME ``root/homes/<name>`` (default: the size) for one benchmark run of ``data``: history and
    items in landing/, and (``stored_params``) iALS's stored params."""
    home = root / "homes" / (name or data.size)
    shutil.rmtree(home, ignore_errors=True)
    (home / "landing" / "ratings").mkdir(parents=True)
    (home / "landing" / "items").mkdir(parents=True)
    _link(data.history, home / "landing" / "ratings" / data.history.name)
    _link(data.items_file, home / "landing" / "items" / data.items_file.name)
    if stored_params:
        best = OutputLayout(home / "outputs").best_params("ials")
        write_json(best, {"model": "ials", "study": "benchmark", "params": IALS_PARAMS})
    return home


def land_day(data: DataSet, home: Path) -> Path:
    """Put the night's day file into the landing folder."""
    target = home / "landing" / "ratings" / data.day_file.name
    _link(data.day_file, target)
    return target


def _link(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def as_of(data: DataSet) -> datetime:
    """The night's cut-off: the end of the data set's last day."""
    return datetime.combine(datetime.fromisoformat(data.day).date() + timedelta(days=1), datetime.min.time())


def to_dict(data: DataSet) -> dict[str, Any]:
    out = asdict(data)
    out["folder"] = str(data.folder)
    return out
