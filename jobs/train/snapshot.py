"""The run's training snapshot: the warehouse's interactions as of the run's cut-off, frozen into files.

Every later step of a run (train, score shards, similar items) reads these files, never the warehouse, so
parallel tasks need no database lock and a rerun of any step sees exactly the same data.
Files in ``outputs/runs/<run>/snapshot/`` (``jobs.layout.RunFiles``): interactions.parquet (user_index,
item_index, rating, rated_at_epoch; CSR order), users.parquet, items.parquet (ids, item metadata and availability by index), and the business rules in force at the
cut-off: exclusions.parquet (user_id, null for everyone; item_id) and promotions.parquet (item_id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import scipy.sparse as sp

from jobs.files import replacing
from jobs.layout import RunFiles
from jobs.sql import literal, sql_text
from models.base import Interactions

log = logging.getLogger("recs.snapshot")

#: Snapshot files of the business rules in force at the cut-off (jobs.score.rules applies them).
_RULES = ("exclusions", "promotions")
_END_OF_TIME = datetime(9999, 12, 31)
#: Rows per batch while the interactions stream into their file.
_BATCH_ROWS = 1 << 20


@dataclass
class Snapshot:
    data: Interactions  # with rated_at: epoch seconds, one per stored interaction, aligned with matrix.data

    @property
    def rated_at(self) -> np.ndarray:
        return self.data.rated_at


def write_snapshot(con: duckdb.DuckDBPyConnection, files: RunFiles, as_of: datetime | None) -> dict[str, int]:
    """Freeze the interactions before ``as_of`` into ``files.snapshot``; returns counts for the run log."""
    files.snapshot.mkdir(parents=True, exist_ok=True)
    con.execute("create or replace temp table snapshot_users as " + sql_text("training/user_index"), {"as_of": as_of})
    con.execute("create or replace temp table snapshot_items as " + sql_text("training/item_index"), {"as_of": as_of})
    with replacing(files.snapshot_file("interactions")) as tmp:
        interactions = _write_latest(con, tmp, as_of)
    for name, query in (("users", "training/snapshot_users"), ("items", "training/snapshot_items"),
                        ("exclusions", "training/snapshot_exclusions"), ("promotions", "training/snapshot_promotions")):
        with replacing(files.snapshot_file(name)) as tmp:
            query_params = {"as_of": as_of or _END_OF_TIME} if name in _RULES else None
            con.execute(f"copy ({sql_text(query)}) to {literal(tmp)} (format parquet)", query_params)
    users, items = (con.execute(f"select count(*) from {table}").fetchone()[0] for table in ("snapshot_users", "snapshot_items"))
    result = {"interactions": interactions, "users": int(users), "items": int(items)}
    log.info("snapshot as of %s: %s", as_of, result)
    return result


def _write_latest(con: duckdb.DuckDBPyConnection, path: Path, as_of: datetime | None) -> int:
    """Stream ``training/interactions`` (CSR order, each pair's latest rating first) into ``path``, keeping the
    first row of each (user, item); returns the rows written. Batch by batch, so memory stays at one batch."""
    reader = con.sql(sql_text("training/interactions"), params={"as_of": as_of}).to_arrow_reader(_BATCH_ROWS)
    previous, written = (-1, -1), 0
    with pq.ParquetWriter(path, reader.schema) as writer:
        for batch in reader:
            if batch.num_rows == 0:
                continue
            users, items = batch.column(0).to_numpy(), batch.column(1).to_numpy()
            first = np.empty(batch.num_rows, dtype=bool)
            first[0] = (users[0], items[0]) != previous
            np.not_equal(users[1:], users[:-1], out=first[1:])
            first[1:] |= items[1:] != items[:-1]
            previous = (users[-1], items[-1])
            kept = batch if first.all() else batch.filter(pa.array(first))
            writer.write_batch(kept)
            written += kept.num_rows
    return written


def load_snapshot(files: RunFiles) -> Snapshot:
    """The run's snapshot as an ``Interactions`` matrix plus the timestamps of its entries."""
    table = pq.read_table(files.snapshot_file("interactions"))
    users = pq.read_table(files.snapshot_file("users")).column("user_id").to_numpy(zero_copy_only=False).astype(object)
    items = pq.read_table(files.snapshot_file("items")).to_pandas()
    user_index = table.column("user_index").to_numpy()
    item_index = table.column("item_index").to_numpy()
    indptr = np.zeros(len(users) + 1, dtype=np.int64)
    np.cumsum(np.bincount(user_index, minlength=len(users)), out=indptr[1:])
    matrix = sp.csr_matrix(
        (table.column("rating").to_numpy().astype(np.float32), item_index.astype(np.int32), indptr),
        shape=(len(users), len(items)),
    )
    features = items.set_index("item_id")[["title", "genres", "description"]]
    data = Interactions(matrix=matrix, user_ids=users, item_ids=items["item_id"].to_numpy().astype(object),
                        item_features=features, rated_at=table.column("rated_at_epoch").to_numpy())
    return Snapshot(data=data)


def snapshot_ids(files: RunFiles, name: str) -> np.ndarray:
    """The ids of a snapshot's ``users`` or ``items`` by index, without loading the interactions."""
    column = "user_id" if name == "users" else "item_id"
    return pq.read_table(files.snapshot_file(name), columns=[column]).column(column).to_numpy(zero_copy_only=False)
