"""The training snapshot: each (user, item)'s latest rating before the cut-off, in CSR order, whatever the batches."""

from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from jobs import warehouse
from jobs.train import snapshot
from jobs.train.snapshot import load_snapshot, snapshot_ids, write_snapshot
from tests.support.warehouse import seed_ratings

AS_OF = datetime(2026, 11, 21)


def _ratings(rows: list[tuple[str, str, float, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "rating", "rated_at"])
    return frame.assign(rated_at=pd.to_datetime(frame["rated_at"]))


def _frozen(settings) -> dict[tuple[str, str], float]:
    files = settings.layout.run("r")
    with warehouse.connect(settings) as con:
        counts = write_snapshot(con, files, AS_OF)
    data = load_snapshot(files).data
    coo = data.matrix.tocoo()
    assert counts == {"interactions": data.matrix.nnz, "users": data.n_users, "items": data.n_items}
    assert list(snapshot_ids(files, "users")) == sorted(snapshot_ids(files, "users"))
    return {(data.user_ids[u], data.item_ids[i]): float(r) for u, i, r in zip(coo.row, coo.col, coo.data)}


@pytest.mark.parametrize("batch_rows", [1, 2, 1 << 20])
def test_the_latest_rating_of_each_pair_wins_and_later_files_break_ties(settings, monkeypatch, batch_rows):
    monkeypatch.setattr(snapshot, "_BATCH_ROWS", batch_rows)  # a pair's re-ratings split across batches too
    seed_ratings(settings, _ratings([
        ("u1", "a", 1.0, "2026-11-01"), ("u1", "a", 4.0, "2026-11-05"),  # re-rated later: 4 wins
        ("u1", "b", 2.0, "2026-11-02"),
        ("u2", "a", 5.0, "2026-11-03"), ("u2", "a", 3.0, "2026-11-03"),  # same time, later line: 3 wins
        ("u2", "c", 1.0, "2026-11-22"),  # after the cut-off: not in the snapshot, nor is item c
    ]), source="day1.csv")
    seed_ratings(settings, _ratings([("u1", "b", 5.0, "2026-11-02"), ("u3", "b", 2.0, "2026-11-04")]), source="day2.csv")
    assert _frozen(settings) == {("u1", "a"): 4.0, ("u1", "b"): 5.0, ("u2", "a"): 3.0, ("u3", "b"): 2.0}


def test_the_snapshot_is_in_csr_order_with_one_row_per_pair(settings):
    rng = np.random.default_rng(0)
    rows = [(f"u{rng.integers(30)}", f"i{rng.integers(40)}", float(rng.integers(1, 6)), f"2026-11-{rng.integers(1, 20):02d}")
            for _ in range(2000)]
    seed_ratings(settings, _ratings(rows))
    frozen = _frozen(settings)
    expected = (_ratings(rows).assign(line=np.arange(len(rows))).sort_values(["rated_at", "line"])
                .groupby(["user_id", "item_id"])["rating"].last())
    assert frozen == {key: float(value) for key, value in expected.items()}
    table = pq.read_table(settings.layout.run("r").snapshot_file("interactions"))
    keys = table.column("user_index").to_numpy().astype(np.int64) * 1000 + table.column("item_index").to_numpy()
    assert np.all(np.diff(keys) > 0)  # sorted by user then item, no pair twice
