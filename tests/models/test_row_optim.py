"""The lazy row optimiser against torch's own SparseAdam / SGD on sparse embeddings (the known answer)."""

from __future__ import annotations

import pytest
import torch

from models.row_optim import RowOptimizer

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("method", ["adam", "sgd"])
def test_matches_torch_sparse_optimisers(method: str) -> None:
    gen = torch.Generator().manual_seed(0)
    init = torch.randn(10, 3, generator=gen)
    batches = [torch.randint(0, 10, (6,), generator=gen) for _ in range(5)]
    target = torch.randn(6, 3, generator=gen)

    emb = torch.nn.Embedding.from_pretrained(init.clone(), freeze=False, sparse=True)
    ref = torch.optim.SparseAdam(emb.parameters(), lr=0.1) if method == "adam" else torch.optim.SGD(emb.parameters(), lr=0.1)
    table = init.clone()
    ours = RowOptimizer([table], lr=0.1, method=method)
    for index in batches:
        ref.zero_grad()
        ((emb(index) - target) ** 2).sum().backward()
        ref.step()
        ((ours.lookup(0, index) - target) ** 2).sum().backward()
        ours.step()
    torch.testing.assert_close(table, emb.weight.detach(), rtol=1e-5, atol=1e-6)


def test_one_lookup_per_table_per_step() -> None:
    ours = RowOptimizer([torch.zeros(4, 2)], lr=0.1)
    ours.lookup(0, torch.tensor([0, 1]))
    with pytest.raises(RuntimeError):
        ours.lookup(0, torch.tensor([2]))
