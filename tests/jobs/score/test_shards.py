"""Scoring: shards split the users exactly, and the fallback list follows its setting."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from jobs import steps
from jobs.score.shards import shard_users
from tests.support.warehouse import seed_ratings, taste_ratings


@pytest.mark.parametrize("n_users,n_shards", [(0, 1), (1, 3), (10, 3), (1000, 7), (5, 5)])
def test_shards_cover_every_user_once_in_contiguous_blocks(n_users, n_shards):
    blocks = [shard_users(n_users, shard, n_shards) for shard in range(n_shards)]
    assert np.array_equal(np.concatenate(blocks), np.arange(n_users))
    assert max(map(len, blocks)) - min(map(len, blocks)) <= 1
    with pytest.raises(ValueError, match="not in 0"):
        shard_users(n_users, n_shards, n_shards)


def test_popular_items_lists_the_configured_number_at_least_top_n(settings):
    seed_ratings(settings, taste_ratings(n_users=30, n_items=60))
    run = steps.freeze_snapshot("night1", settings=settings.with_overrides(score={"popular_items": 7, "top_n": 5}))
    short = steps.popular_items(run, settings=settings.with_overrides(score={"popular_items": 7, "top_n": 5}))
    longer = steps.popular_items(run, settings=settings.with_overrides(score={"popular_items": 7, "top_n": 12}))
    assert (short["items"], longer["items"]) == (7, 12)
    table = pq.read_table(settings.layout.run("night1").popular_items).to_pandas()
    assert list(table["rank"]) == list(range(1, 13)) and table["score"].is_monotonic_decreasing
