"""Helpers for pipeline tests: seed a real warehouse with ratings and read the published tables."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from jobs import warehouse
from jobs.config import Settings


def taste_ratings(n_users: int = 120, n_items: int = 60, per_user: int = 12, days: int = 20, seed: int = 0,
                  start: str = "2026-10-01") -> pd.DataFrame:
    """Ratings with planted structure: users of group g mostly rate items of block g; timestamps over ``days``."""
    rng = np.random.default_rng(seed)
    groups = 4
    block = n_items // groups
    rows = []
    for user in range(n_users):
        g = user % groups
        own = rng.choice(np.arange(g * block, (g + 1) * block), size=min(per_user - 2, block), replace=False)
        other = rng.choice(n_items, size=2, replace=False)
        for item in np.unique(np.concatenate([own, other])):
            rows.append((f"u{user}", f"i{item}", float(rng.integers(3, 6)),
                         pd.Timestamp(start) + pd.Timedelta(seconds=int(rng.integers(0, days * 86400)))))
    return pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "rated_at"])


def seed_ratings(settings: Settings, frame: pd.DataFrame, source: str = "seeded.csv") -> None:
    """Append rating rows to the warehouse as the ingest step would have loaded them."""
    frame = frame.assign(source_file=source, source_line=np.arange(2, len(frame) + 2))
    with warehouse.connect(settings) as con:
        con.register("seed_frame", frame)
        con.execute("insert into ratings by name select user_id, item_id, rating, rated_at, source_file, source_line from seed_frame")
        con.unregister("seed_frame")


def published(settings: Settings, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(settings.layout.serving), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()
