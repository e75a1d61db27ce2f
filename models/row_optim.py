"""Lazy Adam / SGD on embedding tables: a mini-batch updates only the rows it looked up.

torch's ``SparseAdam`` does the same through sparse gradient tensors, but on the CPU its sparse-into-dense
additions cost milliseconds per step even for tiny batches. Here a batch gathers the unique rows it needs into
small dense leaf tensors, autograd fills their gradients, and ``step`` writes the Adam (or SGD) update back with
plain index operations. Bias correction uses the global step count, as ``SparseAdam`` does. Deterministic on the
CPU (``torch.unique`` sorts).
"""

from __future__ import annotations

import torch


class RowOptimizer:
    """Optimises the rows of ``tables`` (2-D tensors, updated in place) looked up through ``lookup``."""

    def __init__(
        self,
        tables: list[torch.Tensor],
        lr: float,
        method: str = "adam",
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if method not in ("adam", "sgd"):
            raise ValueError(f"method must be 'adam' or 'sgd', not {method!r}")
        self.tables = tables
        self.lr, self.method, self.betas, self.eps = lr, method, betas, eps
        self.steps = 0
        if method == "adam":
            self.exp_avg = [torch.zeros_like(t) for t in tables]
            self.exp_avg_sq = [torch.zeros_like(t) for t in tables]
        self._pending: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def lookup(self, table: int, index: torch.Tensor) -> torch.Tensor:
        """Rows ``index`` of table number ``table``, tracked for the next ``step`` (one lookup per table)."""
        if table in self._pending:
            raise RuntimeError("look a table up once per step (concatenate the indices)")
        unique, inverse = torch.unique(index, return_inverse=True)
        # index_select (and index_add in backward) rather than [] indexing: several times faster on the CPU.
        leaf = self.tables[table].index_select(0, unique).requires_grad_()
        self._pending[table] = (unique, leaf)
        return leaf.index_select(0, inverse.reshape(-1)).reshape(*index.shape, -1)

    @torch.no_grad()
    def step(self) -> None:
        """Apply the update to every row looked up since the last step (call after ``backward``)."""
        self.steps += 1
        beta1, beta2 = self.betas
        for table, (rows, leaf) in self._pending.items():
            grad = leaf.grad
            if grad is None:
                continue
            if self.method == "sgd":
                self.tables[table].index_add_(0, rows, grad, alpha=-self.lr)
                continue
            m = self.exp_avg[table].index_select(0, rows).mul_(beta1).add_(grad, alpha=1 - beta1)
            v = self.exp_avg_sq[table].index_select(0, rows).mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            self.exp_avg[table].index_copy_(0, rows, m)
            self.exp_avg_sq[table].index_copy_(0, rows, v)
            step_size = self.lr / (1 - beta1**self.steps)
            denom = (v / (1 - beta2**self.steps)).sqrt_().add_(self.eps)
            self.tables[table].index_add_(0, rows, m / denom, alpha=-step_size)
        self._pending.clear()
