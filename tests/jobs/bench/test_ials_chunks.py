"""The iALS layout benchmark times layouts of one computation: every layout must end with the same factors."""

import pytest

from jobs.bench.ials_chunks import iteration_seconds
from jobs.config import load_settings
from tests.support.snapshot import write_random_snapshot

pytestmark = pytest.mark.usefixtures("one_thread")


def test_every_layout_ends_with_the_same_factors(tmp_path):
    files = load_settings(home=tmp_path).layout.run("night")
    pairs = write_random_snapshot(files, n_users=50, n_items=40, rated_users=50, rated_items=40, draws=600, seed=1)
    rows = iteration_seconds(files.root, [(262144, 1024), (7, 1), (16, 2)], repeats=1, factors=8)
    assert [(r["chunk_rows"], r["cache_kib"]) for r in rows] == [(262144, 1024), (7, 1), (16, 2)]
    assert rows[0]["interactions"] == len(pairs)
    for row in rows[1:]:
        assert row["user_norm"] == pytest.approx(rows[0]["user_norm"], rel=1e-4)
        assert row["item_norm"] == pytest.approx(rows[0]["item_norm"], rel=1e-4)
