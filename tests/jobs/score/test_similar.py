"""The similar_items lists: the chunked, buffered top-k of ``top_similar`` against each model's whole item-item
matrix ranked in one go, on the synthetic world."""

import numpy as np
import pytest
import torch

from jobs.score.similar import top_similar
from models.base import TrainOptions
from models.registry import build
from tests.support.synthetic import make_synthetic

K = 5


def _reference(model, n_items: int, allowed: np.ndarray | None) -> tuple[torch.Tensor, np.ndarray]:
    """The full similarity matrix (self and ruled-out items at -inf) and every item's K best scores in it."""
    with torch.inference_mode():
        full = model.similar_items(np.arange(n_items)).to(torch.float32).clone()
        full.fill_diagonal_(float("-inf"))
        if allowed is not None:
            full[:, torch.from_numpy(~allowed)] = float("-inf")
        return full, torch.topk(full, K, dim=1).values.numpy()


@pytest.mark.parametrize("name", ["ials", "content_tfidf", "itemknn"])
@pytest.mark.parametrize("ruled_out", [False, True])
def test_top_similar_in_small_chunks_matches_the_whole_matrix(name, ruled_out):
    world = make_synthetic()
    model = build(name).fit(world.train, TrainOptions(seed=0))
    n = world.train.n_items
    ids = np.asarray(world.train.item_ids, dtype=object)
    allowed = np.arange(n) % 5 != 3 if ruled_out else None
    # 7 items a chunk: many chunks and a short last one, all through one reused buffer.
    table = top_similar(model, ids, K, name, chunk=7, allowed=allowed).to_pandas()
    full, want_scores = _reference(model, n, allowed)

    assert set(table["method"]) == {name}
    position = {item_id: i for i, item_id in enumerate(ids)}
    item = table["item_id"].map(position).to_numpy()
    other = table["similar_item_id"].map(position).to_numpy()
    rank = table["rank"].to_numpy()
    assert (item != other).all()  # never its own neighbour
    if allowed is not None:
        assert allowed[other].all()
    scores = np.full((n, K), -np.inf, dtype=np.float32)
    scores[item, rank - 1] = table["score"].to_numpy()
    # The K best scores of every item, in order; and each listed item really has its listed score (ties may
    # pick either of two equal items, never a worse one).
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(full[item, other].numpy(), table["score"].to_numpy(), rtol=1e-5, atol=1e-6)
