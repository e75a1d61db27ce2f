"""The shared top-k: seen items masked from CSR rows, short lists when few items are unseen."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from models.base import Interactions
from models.popularity import Popularity
from models.topk import mask_seen, recommend, to_rows, topk_masked


def test_mask_seen_sets_exactly_the_history_to_minus_inf():
    history = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 1]], dtype=np.float32))
    scores = torch.zeros(2, 4)
    mask_seen(scores, history, np.array([2, 0]))
    assert torch.isneginf(scores).tolist() == [[False, True, False, True], [True, False, True, False]]


def test_topk_masked_orders_and_pads():
    scores = torch.tensor([[0.1, 0.9, 0.5, 0.7]])
    history = sp.csr_matrix(np.array([[0, 1, 0, 1]], dtype=np.float32))
    values, indices = topk_masked(scores, 3, history, np.array([0]))
    assert indices.tolist() == [[2, 0, -1]]
    assert values[0, :2].tolist() == [0.5, 0.10000000149011612]


def test_recommend_never_returns_seen_items_and_history_rows_remap():
    rng = np.random.default_rng(3)
    matrix = sp.random(50, 30, density=0.3, format="csr", random_state=4, dtype=np.float32)
    data = Interactions(matrix=matrix, user_ids=np.arange(50).astype(str).astype(object),
                        item_ids=np.arange(30).astype(str).astype(object))
    model = Popularity().fit(data)
    users = rng.permutation(50)[:20]
    for top in recommend(model, users, 10, data.matrix, chunk_users=7):
        for user, items in zip(top.users, top.items):
            seen = set(data.matrix[user].indices)
            valid = items[items >= 0]
            assert not seen & set(valid)
            assert len(valid) == min(10, 30 - len(seen))
    # history given in another row order: row i of `moved` belongs to users[i]
    moved = data.matrix[users]
    a = np.concatenate([t.items for t in recommend(model, users, 10, data.matrix)])
    b = np.concatenate([t.items for t in recommend(model, users, 10, moved, history_rows=np.arange(len(users)))])
    assert (a == b).all()


def test_to_rows_drops_empty_slots_and_ranks_from_one():
    from models.topk import TopK

    top = TopK(users=np.array([0, 1]), items=np.array([[2, -1], [0, 1]]), scores=np.array([[0.5, -np.inf], [0.9, 0.1]], dtype=np.float32))
    rows = to_rows(top, np.array(["u0", "u1"], dtype=object), np.array(["a", "b", "c"], dtype=object)).to_pylist()
    assert [(r["user_id"], r["rank"], r["item_id"]) for r in rows] == [("u0", 1, "c"), ("u1", 1, "a"), ("u1", 2, "b")]


def test_topk_dot_equals_the_full_sort_with_heavy_and_light_users():
    from models.topk import DotItems, topk_dot

    gen = torch.Generator().manual_seed(5)
    users, items, f, k = 37, 300, 8, 20
    x, y = torch.randn(users, f, generator=gen), torch.randn(items, f, generator=gen) * torch.rand(items, 1, generator=gen)
    dense = (np.random.default_rng(6).random((users, items)) < 0.1).astype(np.float32)
    dense[0, :] = 1.0  # saw everything: an empty list
    dense[1, :] = 1.0
    dense[1, -5:] = 0.0  # five unseen items: a short list
    dense[2, :] = 0.0
    history = sp.csr_matrix(dense)
    rows = np.arange(users)
    want_values, want_items = topk_masked(x @ y.T, k, history, rows)
    for probe, tile in ((30, 4), (300, 1000), (64, 7), (80, 1)):
        got_items, got_scores = topk_dot(x, DotItems(y, probe), k, history, rows, tile_items=tile)
        assert (got_items == want_items.numpy()).all()
        np.testing.assert_allclose(got_scores, want_values.numpy(), rtol=1e-5, atol=1e-6)
    assert (got_items[0] == -1).all() and (got_items[1] >= 0).sum() == 5


def test_recommend_takes_the_factor_path_for_factor_models_with_the_same_result():
    from models.ials import IALS

    matrix = sp.random(60, 40, density=0.2, format="csr", random_state=2, dtype=np.float32)
    data = Interactions(matrix=matrix, user_ids=np.arange(60).astype(str).astype(object),
                        item_ids=np.arange(40).astype(str).astype(object))
    model = IALS(factors=4, iterations=2).fit(data)
    users = np.arange(60)
    fast = np.concatenate([t.items for t in recommend(model, users, 10, data.matrix, chunk_users=13)])
    values, plain = topk_masked(model.score(users), 10, data.matrix, users)
    assert (fast == plain.numpy()).all()


@pytest.mark.parametrize("wide_users", [[], [3, 17]])
def test_candidates_rank_ties_as_one_matrix_of_the_whole_chunk_does(wide_users):
    from models.topk import _Candidates

    gen = torch.Generator().manual_seed(len(wide_users))
    n, k = 60, 5
    counts = torch.randint(k + 1, 2 * k, (n,), generator=gen)
    counts[wide_users] = 40  # more than 2k: ranked in rows of their own
    counts[5] = 2  # fewer than k
    row = torch.repeat_interleave(torch.arange(n), counts)
    score = torch.randint(0, 4, (len(row),), generator=gen).float()  # four values: ties in every list
    found = _Candidates(n)
    found.keep(row, row, torch.arange(len(row)), score)
    items, scores = found.top(k, torch.arange(len(row)) * 10)
    # The reference: every user's candidates in one (n, widest) matrix, ranked at once.
    width = int(counts.max())
    cand = torch.full((n, width), float("-inf"))
    slot = torch.arange(len(row)) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    cand[row, slot] = score
    values, at = torch.topk(cand, k, dim=1, sorted=True)
    pos = torch.full((n, width), -1)
    pos[row, slot] = torch.arange(len(row))
    want = torch.gather(pos, 1, at)
    assert np.array_equal(items, torch.where(want >= 0, want * 10, -1).numpy())
    assert np.array_equal(scores, values.numpy())
    assert (items[5, 2:] == -1).all()
