"""MMR re-ranking, item similarities and the beyond-accuracy metrics, on hand-made pools and the synthetic world."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models import metrics
from models.base import TrainOptions
from models.diversity import ItemSimilarity, rerank_mmr
from models.evaluation import evaluate
from models.registry import build
from models.splits import Split
from models.topk import recommend
from tests.support.synthetic import make_synthetic

# Six items: 0, 1, 2 share one direction (near-duplicates), 3 and 4 another, 5 a third.
VECTORS = np.array([[1, 0, 0], [1, 0, 0], [1, 0.01, 0], [0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
POOL = np.array([[0, 1, 2, 3, 4, 5], [2, 0, 5, 1, -1, -1]])
SCORES = np.array([[6, 5.9, 5.8, 5, 4, 3], [9, 8.5, 8, 7, -np.inf, -np.inf]], dtype=np.float32)


def test_no_diversity_returns_the_first_k_of_the_pool_without_similarities():
    class Untouchable(ItemSimilarity):
        def block(self, items):
            raise AssertionError("no similarity at diversity 0")

    items, scores = rerank_mmr(POOL, SCORES, Untouchable(vectors=torch.zeros(1, 1)), 3, 0.0)
    assert items.tolist() == POOL[:, :3].tolist()
    np.testing.assert_array_equal(scores, SCORES[:, :3])
    assert items.dtype == np.int64 and scores.dtype == np.float32


def test_diversity_brings_a_dissimilar_item_forward_and_raises_ild():
    similarity = ItemSimilarity.from_vectors(VECTORS)
    plain, _ = rerank_mmr(POOL, SCORES, similarity, 3, 0.0)
    diverse, scores = rerank_mmr(POOL, SCORES, similarity, 3, 0.5)
    assert diverse[0, 0] == 0  # the best item still leads
    assert diverse[0, 1] == 3  # then the best of another direction, ahead of the near-duplicates 1 and 2
    assert set(diverse[0]) == {0, 3, 5}
    np.testing.assert_array_equal(scores[0], SCORES[0, [0, 3, 5]])  # original scores travel with the items
    assert metrics.intra_list_diversity(diverse, VECTORS)[0] > metrics.intra_list_diversity(plain, VECTORS)[0] + 0.9
    assert diverse[1].tolist() == [2, 5, 0]  # user 1's top 3 already spans two directions: only the order moves


def test_full_diversity_with_equal_similarities_still_returns_distinct_valid_items():
    class Same(ItemSimilarity):
        def block(self, items):
            return torch.ones(len(items), len(items))

    items, scores = rerank_mmr(POOL, SCORES, Same(vectors=torch.zeros(1, 1)), 4, 1.0)
    assert items.tolist() == [[0, 1, 2, 3], [2, 0, 5, 1]]  # ties go to the better-ranked item
    assert np.isfinite(scores).all()


def test_short_pools_are_padded():
    similarity = ItemSimilarity.from_vectors(VECTORS)
    for diversity in (0.0, 0.7):
        items, scores = rerank_mmr(POOL, SCORES, similarity, 8, diversity)
        assert items.shape == (2, 8)
        assert (items[0, 6:] == -1).all() and (items[1, 4:] == -1).all()
        assert np.isneginf(scores[0, 6:]).all() and np.isneginf(scores[1, 4:]).all()
        assert sorted(items[1, :4]) == [0, 1, 2, 5]
        assert sorted(items[0, :6]) == list(range(6))


def test_a_user_with_an_empty_pool_gets_only_padding():
    items, scores = rerank_mmr(np.full((1, 3), -1), np.full((1, 3), -np.inf, np.float32),
                               ItemSimilarity.from_vectors(VECTORS), 2, 0.5)
    assert items.tolist() == [[-1, -1]] and np.isneginf(scores).all()


@pytest.mark.parametrize("name", ["ease", "itemknn"])
def test_model_similarity_block_is_symmetric_in_unit_range_with_unit_diagonal(name):
    world = make_synthetic()
    model = build(name).fit(world.train, TrainOptions(seed=0))
    similarity = ItemSimilarity.from_model(model)
    items = np.array([0, 1, 2, 20, 40, 61, 63])
    block = similarity.block(items)
    assert block.shape == (7, 7) and block.dtype == torch.float32
    torch.testing.assert_close(block, block.T)
    assert float(block.min()) >= 0 and float(block.max()) <= 1
    torch.testing.assert_close(torch.diagonal(block), torch.ones(7))
    # Items of one block are closer to each other than to another block's, and a pair does not depend on the rest.
    assert block[0, 1] > block[0, 3]
    torch.testing.assert_close(similarity.block(items[[0, 1]])[0, 1], block[0, 1])


def test_from_model_needs_an_item_item_view():
    with pytest.raises(ValueError, match="no item-item similarity"):
        ItemSimilarity.from_model(build("popularity"))


def test_ild_of_identical_vectors_is_0_and_of_orthogonal_ones_1():
    vectors = np.array([[1, 0, 0], [2, 0, 0], [0, 3, 0], [0, 0, 1]], dtype=np.float32)
    items = np.array([[0, 1, -1], [0, 2, 3], [3, -1, -1], [-1, -1, -1]])
    ild = metrics.intra_list_diversity(items, vectors)
    np.testing.assert_allclose(ild[:2], [0.0, 1.0], atol=1e-12)
    assert np.isnan(ild[2:]).all()


def test_item_vectors_are_unit_rows_and_zero_for_unseen_items():
    matrix = sp.csr_matrix(np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 1, 1, 0]], dtype=np.float32))
    vectors = metrics.item_vectors(matrix, dim=64)
    assert vectors.shape == (4, 2)  # min(64, 4 - 1, 3 - 1)
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, rtol=1e-5)
    assert (vectors[3] == 0).all()


def test_novelty_is_lowest_for_the_most_popular_item():
    counts = np.array([100, 10, 1, 0])
    value = metrics.novelty(np.array([[0], [1], [2], [3], [-1]]), counts, 100)
    np.testing.assert_allclose(value[:4], [0.0, np.log2(10), np.log2(100), np.log2(100)])  # a count of 0 counts 1
    assert np.isnan(value[4])
    assert metrics.novelty(np.array([[0, 2]]), counts, 100)[0] == pytest.approx(np.log2(100) / 2)


def test_mmr_on_ease_pools_raises_mean_ild_in_the_synthetic_world():
    world = make_synthetic(seed=3)
    model = build("ease").fit(world.train, TrainOptions(seed=0))
    similarity = ItemSimilarity.from_model(model)
    vectors = metrics.item_vectors(world.train.matrix)
    ild = {0.0: [], 0.5: []}
    for top in recommend(model, world.users, 50, world.train.matrix, chunk_users=64):
        for diversity, values in ild.items():
            items, _ = rerank_mmr(top.items, top.scores, similarity, 10, diversity)
            values.append(metrics.intra_list_diversity(items, vectors))
    plain, diverse = (float(np.nanmean(np.concatenate(values))) for values in ild.values())
    assert diverse > plain + 0.05


def test_evaluate_reports_ild_and_novelty_per_cutoff():
    world = make_synthetic()
    test = sp.csr_matrix((world.holdout_ratings, (world.users, world.holdout_items)), shape=world.train.matrix.shape)
    split = Split(train=world.train, test=test, cut_at=None)
    model = build("ease").fit(world.train, TrainOptions(seed=0))
    per_user, summary = evaluate(model, split, (5, 10))
    for name in ("ild", "novelty"):
        rows = summary[summary["metric"] == name]
        assert rows["k"].tolist() == [5, 10] and np.isfinite(rows["value"]).all()
        assert f"{name}@10" in per_user
    popular = build("popularity").fit(world.train, TrainOptions(seed=0))
    novelty = {m: evaluate(m, split, (10,))[1].set_index("metric").loc["novelty", "value"] for m in (model, popular)}
    assert novelty[model] > novelty[popular]


def _reference_block(model, items):
    """``ItemSimilarity.block`` of a model as its docstring defines it, written plainly (whole tensors)."""
    rows = model.similar_items(items).to(torch.float32).clamp_min(0.0)
    rows[torch.arange(len(items)), torch.from_numpy(items)] = 0.0
    s = rows[:, torch.from_numpy(items)]
    s = torch.maximum(s, s.T)
    reach = torch.maximum(rows.amax(dim=1), s.amax(dim=0))
    denom = torch.sqrt(reach[:, None] * reach[None, :])
    out = torch.where(denom > 0, s / denom.clamp_min(1e-30), torch.zeros_like(s)).clamp(0.0, 1.0)
    return out.fill_diagonal_(1.0)


@pytest.mark.parametrize("name", ["ease", "ials"])
def test_model_block_built_in_place_by_tiles_equals_the_plain_formula(name, monkeypatch):
    import models.diversity as diversity

    world = make_synthetic()
    model = build(name).fit(world.train, TrainOptions(seed=0))
    items = np.array([0, 1, 2, 5, 20, 21, 40, 44, 61, 63, 65])
    monkeypatch.setattr(diversity, "_NORMALISE_CELLS", 20)  # several row steps, a block spanning tiles below
    block = ItemSimilarity.from_model(model).block(items)
    assert torch.equal(block, _reference_block(model, items))
    s = torch.rand(1100, 1100)
    want = torch.maximum(s, s.T)
    diversity._symmetrise_max(s)
    assert torch.equal(s, want)


def _reference_mmr(pool, scores, block_of, k, diversity):
    """MMR one user at a time, in plain Python: the definition ``rerank_mmr`` vectorises."""
    out = []
    for items, values in zip(pool, scores):
        valid = [j for j in range(len(items)) if items[j] >= 0 and np.isfinite(values[j])]
        if not valid:
            out.append([])
            continue
        lo, hi = min(values[j] for j in valid), max(values[j] for j in valid)
        rel = {j: (values[j] - lo) / (hi - lo) if hi > lo else 1.0 for j in valid}
        chosen: list[int] = []
        while valid and len(chosen) < k:
            gains = {j: (1 - diversity) * rel[j] - diversity * max((block_of(items[j], items[c]) for c in chosen),
                                                                   default=0) for j in valid}
            best = max(valid, key=lambda j: (gains[j], -j))
            chosen.append(best)
            valid.remove(best)
        out.append([items[j] for j in chosen])
    return out


def test_mmr_equals_the_per_user_definition_and_a_restricted_or_pooled_similarity_changes_nothing():
    world = make_synthetic(seed=4)
    model = build("ials").fit(world.train, TrainOptions(seed=0))
    similarity = ItemSimilarity.from_model(model)
    subset = np.flatnonzero(world.item_block <= 1)  # two genres and the popular items
    cached, pooled = similarity.restricted(subset), similarity.pooled(subset)
    assert pooled.cache is None and similarity.pool_vectors is None  # pooled keeps no block; the original is unchanged
    everything = similarity.block(subset)

    def block_of(a, b):
        return float(everything[np.searchsorted(subset, a), np.searchsorted(subset, b)])

    scores = model.score(world.users[:40])[:, torch.from_numpy(subset)]
    values, at = torch.topk(scores, 12, dim=1)
    pool, pool_scores = subset[at.numpy()], values.numpy()
    pool[3, 7:], pool_scores[3, 7:] = -1, -np.inf  # a short pool
    for diversity in (0.25, 1.0):
        plain = rerank_mmr(pool, pool_scores, similarity, 6, diversity)
        fast = rerank_mmr(pool, pool_scores, cached, 6, diversity)
        assert np.array_equal(plain[0], fast[0]) and np.array_equal(plain[1], fast[1])
        per_user = rerank_mmr(pool, pool_scores, pooled, 6, diversity)
        assert np.array_equal(plain[0], per_user[0]) and np.array_equal(plain[1], per_user[1])
        want = _reference_mmr(pool, pool_scores, block_of, 6, diversity)
        assert [[int(i) for i in row if i >= 0] for row in fast[0]] == want
    for narrow in (cached, pooled):
        with pytest.raises(KeyError, match="outside"):
            rerank_mmr(np.array([[subset[0], 2 + subset.max()]]), np.array([[2.0, 1.0]], np.float32), narrow, 2, 0.5)
    outside = np.setdiff1d(np.arange(world.train.n_items), subset)[:1]
    with pytest.raises(KeyError, match="outside"):
        rerank_mmr(np.array([[subset[0], outside[0]]]), np.array([[2.0, 1.0]], np.float32), pooled, 2, 0.5)


def test_pooled_similarities_are_the_rows_of_each_users_pool_block():
    world = make_synthetic(seed=5)
    model = build("ials").fit(world.train, TrainOptions(seed=0))
    similarity = ItemSimilarity.from_model(model)
    pooled = similarity.pooled(np.arange(world.train.n_items))
    pool = np.array([[3, 17, 40, 2, -1], [60, 1, 5, 33, 9]])
    valid = pool >= 0
    picked_to_pool, _ = pooled.pool_similarity(pool, valid)
    blocks = [similarity.block(items[ok]) for items, ok in zip(pool, valid)]
    for slot in range(4):  # each valid slot of both users picked in turn
        rows = picked_to_pool(torch.full((2, 1), slot))
        for user, block in enumerate(blocks):
            off = np.flatnonzero(valid[user] & (np.arange(5) != slot))  # the picked slot itself is never read
            want = block[slot, torch.from_numpy(off)]
            torch.testing.assert_close(rows[user, off], want, rtol=0, atol=1e-6)  # float rounding aside


@pytest.mark.parametrize("name", ["ials", "bpr", "biased_mf", "two_tower", "vae", "ease"])
def test_unit_item_vectors_reproduce_similar_items_exactly(name):
    world = make_synthetic()
    model = build(name).fit(world.train, TrainOptions(seed=0))
    unit = model.unit_item_vectors()
    if name == "ease":  # not a cosine of item vectors: no pooled blocks, a block per batch
        assert unit is None and not ItemSimilarity.from_model(model).poolable
        return
    items = np.array([0, 7, 30, 61])
    assert torch.equal(unit[torch.from_numpy(items)] @ unit.T, model.similar_items(items))
    torch.testing.assert_close(torch.linalg.vector_norm(unit, dim=1), torch.ones(len(unit)))
