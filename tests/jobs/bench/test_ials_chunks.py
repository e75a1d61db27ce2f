"""The iALS layout benchmark times layouts of one computation: every layout must end with the same factors."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jobs.bench.ials_chunks import iteration_seconds
from jobs.config import load_settings

pytestmark = pytest.mark.usefixtures("one_thread")


def test_every_layout_ends_with_the_same_factors(tmp_path):
    files = load_settings(home=tmp_path).layout.run("night")
    files.snapshot.mkdir(parents=True)
    rng = np.random.default_rng(1)
    pairs = sorted({(int(u), int(i)) for u, i in zip(rng.integers(0, 50, 600), rng.integers(0, 40, 600))})
    users, items = (np.array(column, dtype=np.int32) for column in zip(*pairs))
    pq.write_table(pa.table({"user_index": users, "item_index": items}), files.snapshot_file("interactions"))
    pq.write_table(pa.table({"user_index": np.arange(50, dtype=np.int32)}), files.snapshot_file("users"))
    pq.write_table(pa.table({"item_index": np.arange(40, dtype=np.int32)}), files.snapshot_file("items"))
    rows = iteration_seconds(files.root, [(262144, 1024), (7, 1), (16, 2)], repeats=1, factors=8)
    assert [(r["chunk_rows"], r["cache_kib"]) for r in rows] == [(262144, 1024), (7, 1), (16, 2)]
    assert rows[0]["interactions"] == len(pairs)
    for row in rows[1:]:
        assert row["user_norm"] == pytest.approx(rows[0]["user_norm"], rel=1e-4)
        assert row["item_norm"] == pytest.approx(rows[0]["item_norm"], rel=1e-4)
