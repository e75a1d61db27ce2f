"""The run's training snapshot: the warehouse's interactions as of the run's cut-off, frozen into files.

Every later step of a run (train, score shards, similar items) reads these files, never the warehouse, so
parallel tasks need no database lock and a rerun of any step sees exactly the same data.
Files in ``outputs/runs/<run>/snapshot/``: interactions.parquet (user_index, item_index, rating,
rated_at_epoch; CSR order), users.parquet, items.parquet (ids and item metadata by index).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp

from jobs.warehouse import literal, sql_text
from models.base import Interactions

log = logging.getLogger("recs.snapshot")


@dataclass
class Snapshot:
    data: Interactions
    rated_at: np.ndarray  # epoch seconds, one per stored interaction, aligned with data.matrix.data


def snapshot_dir(run_dir: Path) -> Path:
    return run_dir / "snapshot"


def write_snapshot(con: duckdb.DuckDBPyConnection, run_dir: Path, as_of: datetime | None) -> dict[str, int]:
    """Freeze the interactions before ``as_of`` into ``run_dir/snapshot``; returns counts for the run log."""
    out = snapshot_dir(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = {"as_of": as_of}
    con.execute("create or replace temp table snapshot_interactions as " + sql_text("training/interactions"), params)
    con.execute("create or replace temp table snapshot_users as " + sql_text("training/user_index"))
    con.execute("create or replace temp table snapshot_items as " + sql_text("training/item_index"))
    for name, query in (
        ("interactions", sql_text("training/interactions_indexed")),
        ("users", "select user_index, user_id from snapshot_users order by user_index"),
        ("items", "select * from snapshot_items order by item_index"),
    ):
        tmp = out / f"{name}.parquet.tmp"
        con.execute(f"copy ({query}) to {literal(tmp)} (format parquet)")
        tmp.replace(out / f"{name}.parquet")
    counts = con.execute(
        "select (select count(*) from snapshot_interactions), (select count(*) from snapshot_users),"
        " (select count(*) from snapshot_items)"
    ).fetchone()
    result = {"interactions": int(counts[0]), "users": int(counts[1]), "items": int(counts[2])}
    log.info("snapshot as of %s: %s", as_of, result)
    return result


def load_snapshot(run_dir: Path) -> Snapshot:
    """The run's snapshot as an ``Interactions`` matrix plus the timestamps of its entries."""
    folder = snapshot_dir(run_dir)
    table = pq.read_table(folder / "interactions.parquet")
    users = pq.read_table(folder / "users.parquet").column("user_id").to_numpy(zero_copy_only=False).astype(object)
    items = pq.read_table(folder / "items.parquet").to_pandas()
    user_index = table.column("user_index").to_numpy()
    item_index = table.column("item_index").to_numpy()
    indptr = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_index, minlength=len(users)), out=indptr[1:])
    matrix = sp.csr_matrix(
        (table.column("rating").to_numpy().astype(np.float32), item_index.astype(np.int32), indptr),
        shape=(len(users), len(items)),
    )
    features = items.set_index("item_id")[["title", "genres", "description"]]
    data = Interactions(matrix=matrix, user_ids=users, item_ids=items["item_id"].to_numpy().astype(object), item_features=features)
    return Snapshot(data=data, rated_at=table.column("rated_at_epoch").to_numpy())
