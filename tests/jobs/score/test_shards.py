"""Scoring: shards split the users exactly, the fallback list follows its setting, and neither chunking nor the
similarity block a diversified placement keeps for the night changes a list."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from jobs import steps
from jobs.config import Placement
from jobs.records import RunContext
from jobs.score.placements import ChunkScores, PlacementPlan
from jobs.score.rules import PlacementItems
from jobs.score.shards import PLACEMENT_SCHEMA, SCORES_SCHEMA, shard_users
from models.base import TrainOptions
from models.diversity import ItemSimilarity
from models.registry import build
from tests.support.synthetic import make_synthetic
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


def _night_with_a_diversified_placement(settings):
    """A snapshot and an iALS champion, with a promoted, diversified comedy placement beside the default one."""
    settings = replace(settings.with_overrides(score={"top_n": 6}, train={"models": ("ials",)}),
                       placements=(Placement(), Placement(name="comedy", top_n=4, filter="genres like '%Comedy%'",
                                                          diversity=0.3, promoted_slots=2)))
    genres = ("Comedy", "Drama", "Horror", "Western")
    items = pd.DataFrame({"item_id": [f"i{i}" for i in range(60)], "title": [f"Item {i}" for i in range(60)],
                          "genres": [genres[i // 15] for i in range(60)], "available_from": "", "available_until": ""})
    for kind, frame in (("items", items), ("promotions", pd.DataFrame({"item_id": ["i1", "i2", "i3"]}))):
        (settings.landing_dir / kind).mkdir(parents=True, exist_ok=True)
        frame.to_csv(settings.landing_dir / kind / f"{kind}.csv", index=False)
    seed_ratings(settings, taste_ratings(n_users=90, n_items=60))
    steps.ingest_files(settings=settings)
    run = steps.freeze_snapshot("night", settings=settings, as_of=pd.Timestamp("2026-10-21").to_pydatetime())
    steps.evaluate_candidate(run, "ials", settings=settings)
    return settings, run, steps.fit_champion(run, steps.choose_champion(run, settings=settings), settings=settings)


def test_a_shard_is_the_same_in_one_chunk_or_many_and_reads_back_with_its_schema(settings):
    settings, run, champion = _night_with_a_diversified_placement(settings)
    files = settings.layout.run(RunContext.from_xcom(run).key)
    read = {}
    for chunk in (0, 7):  # 0: every user in one chunk; 7: thirteen chunks, written while the next is ranked
        steps.score_shard(run, champion, 0, settings=settings.with_overrides(score={"chunk_users": chunk}))
        read[chunk] = [pq.read_table(files.score_part(0)), pq.read_table(files.placement_part("comedy", 0))]
    for one, many, schema in zip(read[0], read[7], (SCORES_SCHEMA, PLACEMENT_SCHEMA)):
        assert one.schema.equals(schema) and many.schema.equals(schema)  # plain strings, not dictionaries
        # The same lists; a score may differ in its last bits, as a matrix product's blocking follows its shape
        # on some CPUs (torch.mm of 90 users against 7 is not bit for bit the same).
        assert one.drop_columns(["score"]).equals(many.drop_columns(["score"]))
        np.testing.assert_allclose(one["score"].to_numpy(), many["score"].to_numpy(), rtol=1e-5, atol=1e-6)
    default, comedy = read[7]
    assert default.num_rows == 90 * 6 and comedy["promoted"].to_numpy().any()
    assert pq.ParquetFile(files.score_part(0)).metadata.row_group(0).num_rows == 7 * 6


@pytest.mark.parametrize("name", ["ials", "ease"])
def test_a_diversified_placement_fills_the_same_lists_with_or_without_its_block_cached(name):
    world = make_synthetic(seed=2)
    model = build(name).fit(world.train, TrainOptions(seed=0))
    factors = model.dot_factors() if callable(getattr(model, "dot_factors", None)) else None
    eligible = np.flatnonzero(world.item_block != 1)
    items = PlacementItems(Placement(name="mixed", top_n=5, diversity=0.4, promoted_slots=2), eligible, eligible[[0, 3, 7]])
    similarity = ItemSimilarity.from_model(model)
    plans = [PlacementPlan(items, 10, world.train.n_items, world.train.matrix, factors[1] if factors else None,
                           similarity, cells) for cells in (0, 0, 10**6)]
    # Too big to keep: iALS's per-user blocks from its vectors (pooled), EASE's a block per batch; the second plan
    # is today's per-batch path for either.
    assert plans[0].similarity.cache is None and (plans[0].similarity.pool_vectors is not None) == (name == "ials")
    plans[1].similarity = similarity
    assert plans[2].similarity.cache is not None
    for lo in range(0, world.train.n_users, 50):
        with torch.inference_mode():
            chunk = ChunkScores(model, world.users[lo:lo + 50], factors[0] if factors else None)
            plain, per_batch, cached = (plan.lists(chunk) for plan in plans)
        # Pools of 50 over 42 organic items hold nearly all of them, so even an asymmetric view (EASE), whose
        # values depend on which items share the block, agrees here; a symmetric one (iALS) agrees always.
        for other in (per_batch, cached):
            assert np.array_equal(plain.items, other.items) and np.array_equal(plain.promoted, other.promoted)
            np.testing.assert_array_equal(plain.scores, other.scores)
        assert set(plain.items[plain.items >= 0]) <= set(eligible) and (plain.promoted.sum(axis=1) <= 2).all()
