"""A run's snapshot files (the Parquet tables ``freeze_snapshot`` writes), filled with seeded random ratings, for
tests of code that reads a snapshot without running a night."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jobs.layout import RunFiles


def write_random_snapshot(files: RunFiles, n_users: int, n_items: int, rated_users: int, rated_items: int,
                          draws: int, seed: int) -> list[tuple[int, int]]:
    """Write users (``n_users``), items (``n_items``) and the distinct (user, item) pairs of ``draws`` random draws
    among the first ``rated_users`` users and ``rated_items`` items, in CSR order; returns the pairs."""
    files.snapshot.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    pairs = sorted({(int(u), int(i)) for u, i in zip(rng.integers(0, rated_users, draws),
                                                      rng.integers(0, rated_items, draws))})
    users, items = (np.array(column, dtype=np.int32) for column in zip(*pairs))
    pq.write_table(pa.table({"user_index": users, "item_index": items, "rating": rng.random(len(pairs)).astype(np.float32),
                             "rated_at_epoch": np.arange(len(pairs))}), files.snapshot_file("interactions"))
    pq.write_table(pa.table({"user_index": np.arange(n_users, dtype=np.int32),
                             "user_id": [f"u{u}" for u in range(n_users)]}), files.snapshot_file("users"))
    pq.write_table(pa.table({"item_index": np.arange(n_items, dtype=np.int32), "item_id": [f"i{i}" for i in range(n_items)],
                             "title": ["t"] * n_items, "genres": ["g"] * n_items, "description": ["d"] * n_items}),
                   files.snapshot_file("items"))
    return pairs
