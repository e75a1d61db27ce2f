"""Sample ratings: a seeded, realistic ratings set for the demo and for scale benchmarks.

The ratings come from a small latent-taste world (``jobs.sample.world``: taste clusters, Zipf popularity,
users active over a window of days, ratings from biases + affinity + noise) and the items' titles, genres and
descriptions from ``jobs.sample.items``, so collaborative and content models both have something real to find.

Two uses: ``write_sample`` writes the demo landing folder (one ratings CSV per day plus ``items/items.csv``);
``generate_ratings`` / ``write_ratings_file`` with a ``SIZES`` preset make one large file for benchmarks.
``python -m jobs.sample.data --help`` runs either from the command line.

What it gives (seed 42): on the demo set, a time split (last 10% held out) has popularity at precision@10 0.26,
item-kNN 0.31 and EASE 0.38; the top 10% of items hold 32% of the ratings (the demo is dense: 12% of the matrix),
68% on the 20M preset (median item 200 ratings, top item 116k; users: median 66, mean 145, max 9450).
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobs.files import replacing, write_parquet
from jobs.sample.items import generate_items
from jobs.sample.rules import with_availability, write_rules
from jobs.sample.world import _SECONDS_PER_DAY, GENRES, ratings_arrays

# GENRES and generate_items live in the world and item modules; callers import them from here.
__all__ = [
    "DEFAULT_END_DATE", "GENRES", "SIZES", "generate_items", "generate_ratings", "main", "write_ratings_file",
    "write_sample",
]  # fmt: skip

DEFAULT_END_DATE = date(2026, 11, 20)

#: Presets for benchmarks: name -> (ratings, users, items). "20M" is shaped like MovieLens-20M
#: (20,000,263 ratings by 138,493 users of 26,744 movies); the smaller ones keep a similar shape.
SIZES: dict[str, tuple[int, int, int]] = {
    "100k": (100_000, 943, 1_682),
    "1M": (1_000_000, 6_040, 3_706),
    "5M": (5_000_000, 35_000, 13_500),
    "20M": (20_000_000, 138_000, 27_000),
}


def generate_ratings(
    n_ratings: int,
    n_users: int,
    n_items: int,
    days: int = 42,
    end_date: date = DEFAULT_END_DATE,
    seed: int = 42,
    half_stars: bool = True,
) -> pd.DataFrame:
    """A ratings DataFrame (user_id, item_id int64; rating float64; timestamp int64 unix seconds).

    Rows come roughly grouped by user, not in time order (sort if you need it).

    Pass a preset as ``generate_ratings(*SIZES["20M"])``. Ratings are in half stars (0.5..5, like
    MovieLens-20M) unless ``half_stars=False`` (whole stars 1..5). Same arguments, same rows.
    """
    arrays = ratings_arrays(n_ratings, n_users, n_items, days, end_date, seed, half_stars)
    return pd.DataFrame(arrays, copy=False)


def _write_csv(path: Path, table: Any) -> None:
    """Write a pyarrow table as CSV (unquoted header) to a temporary name, then move it into place."""
    import pyarrow.csv as pacsv

    with replacing(path) as tmp, tmp.open("wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode())
        pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False, quoting_style="needed"))


def write_ratings_file(
    path: str | os.PathLike[str],
    n_ratings: int,
    n_users: int,
    n_items: int,
    days: int = 42,
    end_date: date = DEFAULT_END_DATE,
    seed: int = 42,
    half_stars: bool = True,
) -> dict[str, Any]:
    """Generate ratings and write them as one file: Parquet for a ``.parquet`` suffix, else CSV. Returns a summary.

    ``write_ratings_file("landing/ratings/ml20m.parquet", *SIZES["20M"])`` makes the 20M benchmark input.
    """
    import pyarrow as pa

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(ratings_arrays(n_ratings, n_users, n_items, days, end_date, seed, half_stars))
    if path.suffix == ".parquet":
        write_parquet(table, path, compression="zstd")
    else:
        _write_csv(path, table)
    return {"path": str(path), "rows": table.num_rows, "users": n_users, "items": n_items, "bytes": path.stat().st_size}


def write_sample(
    landing_dir: Path,
    end_date: date = DEFAULT_END_DATE,
    days: int = 42,
    n_users: int = 1000,
    n_items: int = 500,
    n_ratings: int = 60_000,
    seed: int = 42,
) -> dict[str, Any]:
    """Write the demo landing folder: ``ratings/ratings_YYYY-MM-DD.csv`` for each of ``days`` days ending on
    ``end_date`` (rows of that day, by timestamp; whole-star ratings), ``items/items.csv`` (with availability
    windows) and example rule files (``jobs.sample.rules``).

    Existing files of the same names are replaced; other files are left alone. Returns a summary.
    """
    import pyarrow as pa

    landing_dir = Path(landing_dir)
    ratings_dir = landing_dir / "ratings"
    items_dir = landing_dir / "items"
    ratings_dir.mkdir(parents=True, exist_ok=True)
    items_dir.mkdir(parents=True, exist_ok=True)
    arrays = ratings_arrays(n_ratings, n_users, n_items, days, end_date, seed, half_stars=False)
    order = np.argsort(arrays["timestamp"], kind="stable")
    arrays = {name: column[order] for name, column in arrays.items()}
    table = pa.table(arrays)
    first_date = end_date - timedelta(days=days - 1)
    first_second = int(datetime.combine(first_date, datetime.min.time(), UTC).timestamp())
    cuts = np.searchsorted(arrays["timestamp"], first_second + _SECONDS_PER_DAY * np.arange(days + 1), side="left")
    files = []
    for day in range(days):
        path = ratings_dir / f"ratings_{first_date + timedelta(days=day):%Y-%m-%d}.csv"
        _write_csv(path, table.slice(cuts[day], cuts[day + 1] - cuts[day]))
        files.append(path)
    items = with_availability(generate_items(n_items, seed), end_date, seed)
    items_path = items_dir / "items.csv"
    with replacing(items_path) as tmp:
        items.to_csv(tmp, index=False, lineterminator="\n")
    rules = write_rules(landing_dir, n_users, n_items, end_date, seed)
    return {
        "landing_dir": str(landing_dir),
        "ratings_files": len(files),
        "rows": int(len(arrays["rating"])),
        "users": int(len(np.unique(arrays["user_id"]))),
        "items": int(len(np.unique(arrays["item_id"]))),
        "catalogue_items": n_items,
        "first_date": first_date.isoformat(),
        "last_date": end_date.isoformat(),
        "items_file": str(items_path),
        **rules,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m jobs.sample.data",
        description="Write seeded sample ratings: the demo landing folder, or (with --out) one benchmark file.",
    )
    parser.add_argument("--landing", type=Path, default=Path("landing"), help="landing folder for the demo files")
    parser.add_argument("--end-date", type=date.fromisoformat, default=DEFAULT_END_DATE, help="last day (YYYY-MM-DD)")
    parser.add_argument("--days", type=int, default=42, help="days of ratings, ending on --end-date")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--ratings", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--size", choices=sorted(SIZES), help="benchmark preset (sets --ratings/--users/--items)")
    parser.add_argument("--out", type=Path, help="write one ratings file (.csv or .parquet) instead of the demo folder")
    args = parser.parse_args(argv)
    n_ratings, n_users, n_items = SIZES[args.size] if args.size else (args.ratings, args.users, args.items)
    if args.out:
        summary = write_ratings_file(args.out, n_ratings, n_users, n_items, args.days, args.end_date, args.seed)
    else:
        summary = write_sample(args.landing, args.end_date, args.days, n_users, n_items, n_ratings, args.seed)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
