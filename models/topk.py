"""Top-k ranking with seen-item masking, shared by every model (LensKit's TopN component, implicit's recommend).

Users are scored in chunks whose size follows a memory budget (``chunk_users_for``): one (chunk x items) score
matrix at a time, the chunk's histories written into it as -inf straight from the CSR arrays (the history is
never densified), then ``torch.topk``. Users with fewer than k unseen items get fewer rows: padding slots carry
item -1 and are dropped by ``to_rows``.

Factor models (score = user vector . item vector; they expose ``dot_factors()``) take a faster, exact path on
the CPU, ``topk_dot``: sorting every score costs several times the matrix product, and most products cannot
reach a user's top-k at all. Items are ordered by decreasing vector norm; the first ``PROBE_ITEMS`` give each
user a lower bound on their k-th best unseen score, Cauchy-Schwarz then says how far down the norm order each
user must go, and only those (chunk x ``TILE_ITEMS``) tiles are computed, each small enough to stay in cache,
keeping the few scores above the bound; the top-k runs over those.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
import torch

from models.base import Recommender

#: Memory for one chunk's scores and work buffers when the caller gives no budget (``score.memory_budget_mb``).
DEFAULT_MEMORY_BUDGET_MB = 512
#: Bytes a chunk holds per (user, item) cell on the dense path: the float32 score, the boolean mask topk
#: builds, and slack for torch's work buffers.
_BYTES_PER_CELL = 8
#: Items in the probe that sets each user's threshold (``topk_dot``), at least 4 k.
PROBE_ITEMS = 1024
#: Items per tile after the probe (``topk_dot``): a (chunk x tile) product runs near the machine's peak and its
#: scores stay in cache (2048 x 512 floats: 4 MiB).
TILE_ITEMS = 512
#: Bytes ``topk_dot`` holds per user of a chunk: the probe's scores and numpy's partition of them, one tile, and
#: its candidates (a few k of score, position, user and slot), with slack. It does not grow with the catalogue.
_DOT_BYTES_PER_USER = 8 * (PROBE_ITEMS + TILE_ITEMS) + 64 * 400
#: Most users in one ``topk_dot`` chunk. Each chunk costs a few hundred small torch calls (a tile each), and each
#: call waits for its slowest thread: on the 20M benchmark with the cores shared, chunks of 2,485 users (the dense
#: path's size) ranked every user's top-100 several times slower than chunks of 8,192 (docs/benchmarks.md).
DOT_CHUNK_USERS = 8192


@dataclass
class TopK:
    """The top-k of a batch of users: item column indices and scores, best first."""

    users: np.ndarray  # (n,) row indices into the training matrix
    items: np.ndarray  # (n, k) int64 item column indices; -1 marks an empty slot
    scores: np.ndarray  # (n, k) float32


def chunk_users_for(n_items: int, memory_budget_mb: float | None = None, factors: bool = False) -> int:
    """Users per chunk so that a chunk's scores and work buffers fit in ``memory_budget_mb``: the dense path holds
    a (chunk x items) matrix; the factor path (``factors``, ``topk_dot``) a bounded width per user, up to
    ``DOT_CHUNK_USERS``."""
    budget = (memory_budget_mb or DEFAULT_MEMORY_BUDGET_MB) * 2**20
    if factors:
        return max(1, min(DOT_CHUNK_USERS, int(budget // _DOT_BYTES_PER_USER)))
    return max(1, int(budget // (max(n_items, 1) * _BYTES_PER_CELL)))


def _seen_coords(history: sp.csr_matrix, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row in ``users``, item column) of every item in the histories of ``users``, row by row."""
    indptr = history.indptr
    starts, ends = indptr[users], indptr[users + 1]
    counts = ends - starts
    total = int(counts.sum())
    rows = np.repeat(np.arange(len(users)), counts)
    # Gather the column indices of all the chunk's rows in one vectorised step.
    offsets = np.repeat(starts - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    return rows, history.indices[np.arange(total) + offsets].astype(np.int64)


def mask_seen(scores: torch.Tensor, history: sp.csr_matrix, users: np.ndarray) -> None:
    """Set, in place, the score of every item in each user's history to -inf."""
    rows, cols = _seen_coords(history, np.asarray(users, dtype=np.int64))
    if len(rows) == 0:
        return
    if scores.is_contiguous():  # a scatter into the flat view is several times faster than 2-D indexing
        flat = torch.from_numpy(rows * scores.shape[1] + cols).to(scores.device)
        scores.view(-1).scatter_(0, flat, torch.tensor(float("-inf"), dtype=scores.dtype, device=scores.device).expand(len(flat)))
    else:
        scores[torch.from_numpy(rows).to(scores.device), torch.from_numpy(cols).to(scores.device)] = float("-inf")


def topk_masked(scores: torch.Tensor, k: int, history: sp.csr_matrix | None, users: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, indices) of the k best unseen items per row of ``scores``; masked slots get index -1."""
    if history is not None:
        mask_seen(scores, history, users)
    k = min(k, scores.shape[1])
    values, indices = torch.topk(scores, k, dim=1, sorted=True)
    indices[torch.isneginf(values)] = -1
    return values, indices


class DotItems:
    """The item side of ``topk_dot``, prepared once per call: vectors in order of decreasing norm."""

    def __init__(self, item_factors: torch.Tensor, probe: int = PROBE_ITEMS) -> None:
        vectors = item_factors.to(torch.float32)
        norms = torch.linalg.vector_norm(vectors, dim=1)
        self.order = torch.argsort(norms, descending=True)
        self.norms_ascending = norms[self.order].flip(0).contiguous()
        position = torch.empty_like(self.order)
        position[self.order] = torch.arange(len(self.order), device=self.order.device)
        self.position = position.cpu().numpy()
        self.vectors_t = vectors[self.order].T.contiguous()  # (f, items): a tile is a column slice
        self.n_items = len(self.order)
        self.probe = min(max(probe, 1), self.n_items)


def topk_dot(
    user_vectors: torch.Tensor,
    items: DotItems | torch.Tensor,
    k: int,
    history: sp.csr_matrix | None,
    rows: np.ndarray,
    tile_items: int = TILE_ITEMS,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k unseen items for ``user_vectors`` (n x f) against item vectors: (items (n, k) int64, scores float32).

    ``rows[i]`` is the row of ``history`` holding the items to exclude for user i. The same lists as
    ``topk_masked(user_vectors @ item_vectors.T, ...)`` (ties aside), without sorting any whole row:

    1. the probe (the items of largest norm) is scored and masked; each user's k-th best unseen score there,
       t_u, is a lower bound on their k-th best overall;
    2. by Cauchy-Schwarz an item can reach t_u only if |y_i| >= t_u / |x_u|, so each user needs only the items
       down to that norm (about a fifth of them with the 20M benchmark's iALS factors). Users are ordered by how
       far down they go; each tile of ``tile_items`` items is scored (one small product that stays in cache) for
       the users who need it, its seen items masked, and its scores >= t_u kept;
    3. the top-k runs over those candidates (little more than k per user). A user with fewer than k unseen
       items in the probe has no bound: their whole row is scored and sorted.
    """
    if not isinstance(items, DotItems):
        items = DotItems(items, PROBE_ITEMS)
    n_items = items.n_items
    k = min(k, n_items)
    n = len(user_vectors)
    out_items = np.full((n, k), -1, dtype=np.int64)
    out_scores = np.full((n, k), float("-inf"), dtype=np.float32)
    if n == 0 or k == 0:
        return out_items, out_scores
    x = user_vectors.to(torch.float32).contiguous()
    probe = min(max(items.probe, 4 * k), n_items)
    tiles = np.r_[0, np.arange(probe, n_items, max(1, tile_items)), n_items]  # tile 0 is the probe
    seen = _SeenByTile(history, rows, items, tiles, tile_items)
    # 1. The probe, and each user's threshold: the k-th best value, which numpy's partition selects several
    # times faster than torch.topk (the same value: a selection is exact).
    head = seen.mask(torch.mm(x, items.vectors_t[:, :probe]), 0)
    threshold = torch.from_numpy(np.partition(head.numpy(), probe - k, axis=1)[:, probe - k].copy())
    full = torch.isneginf(threshold)
    threshold[full] = float("inf")  # these users are ranked on their whole row, below
    # 2. How far down the norm order each user must go; the tiles, for the users who need them.
    found = _Candidates(n)
    hits = (head >= threshold.unsqueeze(1)).nonzero()
    found.keep(hits[:, 0], hits[:, 0], hits[:, 1], head[hits[:, 0], hits[:, 1]])
    _scan_tiles(x, threshold, _depths(x, threshold, full, items), items, tiles, seen, found, tile_items)
    # 3. The top-k of each user's candidates, laid out one row per user.
    if found.user:
        out_items[:], out_scores[:] = found.top(k, items.order)
    if bool(full.any()):
        _rank_whole_rows(x, full.nonzero().squeeze(1), items, history, rows, k, out_items, out_scores)
    out_items[np.isneginf(out_scores)] = -1
    return out_items, out_scores


_MINUS_INF = torch.tensor(float("-inf"))


class _SeenByTile:
    """The seen items of ``topk_dot``'s users as (user, position in the norm order), grouped by tile (a radix
    sort on the tile number), so each tile masks its own with one scatter."""

    def __init__(self, history: sp.csr_matrix | None, rows: np.ndarray, items: DotItems, tiles: np.ndarray,
                 tile_items: int) -> None:
        self.tiles = tiles
        self.bounds = np.zeros(len(tiles), dtype=np.int64)
        if history is not None:
            seen_user, seen_col = _seen_coords(history, np.asarray(rows, dtype=np.int64))
            seen_pos = items.position[seen_col]
            # Tiles after the probe all hold tile_items items (the last one fewer): the tile is a division away,
            # no search needed.
            after = np.maximum(seen_pos - tiles[1], -1) if len(tiles) > 2 else np.full(len(seen_pos), -1)
            tile_of = (after // max(1, tile_items) + 1).astype(np.uint16)
            by_tile = np.argsort(tile_of, kind="stable")
            self.user, self.pos = torch.from_numpy(seen_user[by_tile]), torch.from_numpy(seen_pos[by_tile])
            self.bounds = np.r_[0, np.cumsum(np.bincount(tile_of, minlength=len(tiles) - 1))]

    def mask(self, scores: torch.Tensor, tile: int, rank: torch.Tensor | None = None) -> torch.Tensor:
        """-inf, in place, at the seen items of ``tile`` (score rows: users, or users in ``rank`` order)."""
        lo, hi = self.bounds[tile], self.bounds[tile + 1]
        if hi > lo:
            user = self.user[lo:hi] if rank is None else rank[self.user[lo:hi]]
            keep = user < scores.shape[0]
            flat = user[keep] * scores.shape[1] + (self.pos[lo:hi][keep] - int(self.tiles[tile]))
            scores.view(-1).scatter_(0, flat, _MINUS_INF.expand(len(flat)))
        return scores


class _Candidates:
    """Scores at or above each user's threshold, collected tile by tile; then each user's top-k of them."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.filled = torch.zeros(n, dtype=torch.int64)  # candidates kept so far per user
        self.user: list[torch.Tensor] = []
        self.slot: list[torch.Tensor] = []
        self.pos: list[torch.Tensor] = []
        self.score: list[torch.Tensor] = []

    def keep(self, row: torch.Tensor, user: torch.Tensor, pos: torch.Tensor, score: torch.Tensor) -> None:
        """Record candidates; ``row`` (nondecreasing, as ``nonzero`` gives it) groups each user's together."""
        if len(row):
            self.slot.append(self.filled[user] + torch.arange(len(row)) - torch.searchsorted(row, row))
            self.filled.add_(torch.bincount(user, minlength=self.n))
            self.user.append(user)
            self.pos.append(pos)
            self.score.append(score)

    def top(self, k: int, item_order: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(item indices, scores) of each user's k best candidates; -1 / -inf where a user has fewer.

        Each user's candidates are a row as wide as the most any user of the chunk has. One user with many (a low
        threshold) would widen every row, so the users with more than 2k are ranked in rows of their own, the
        others in rows just wide enough for theirs. Ranking k + 1 tells which rows hold equal scores: only there
        does the layout matter (torch.topk orders ties by it), and those rows are ranked again at the full width,
        exactly as one matrix of the whole chunk ranks them (torch.topk ranks each row on its own)."""
        found = tuple(torch.cat(parts) for parts in (self.user, self.slot, self.pos, self.score))
        exact_width = max(int(self.filled.max()), k)
        wide = self.filled > 2 * k
        groups = [wide.logical_not().nonzero().squeeze(1), wide.nonzero().squeeze(1)] if bool(wide.any()) else [None]
        out_items = torch.full((self.n, k), -1, dtype=torch.int64)
        out_scores = torch.full((self.n, k), float("-inf"))
        for members in groups:
            filled = self.filled if members is None else self.filled[members]
            width = max(int(filled.max()), k + 1)
            values, at_pos = _ranked(*self._laid_out(found, members, width), k + 1)
            tied = ((values[:, 1:] == values[:, :-1]) & ~torch.isneginf(values[:, 1:])).any(dim=1)
            values, at_pos = values[:, :k], at_pos[:, :k]
            if bool(tied.any()):
                again = (torch.arange(self.n) if members is None else members)[tied]
                values[tied], at_pos[tied] = _ranked(*self._laid_out(found, again, exact_width), k)
            rows = slice(None) if members is None else members
            out_items[rows] = torch.where(at_pos >= 0, item_order[at_pos.clamp_min(0)], -1)
            out_scores[rows] = values
        return out_items.numpy(), out_scores.numpy()

    def _laid_out(self, found: tuple[torch.Tensor, ...], members: torch.Tensor | None,
                  width: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(scores, norm-order positions) of the candidates of ``members`` (None: every user), one row each at
        its slots, -inf / -1 elsewhere."""
        user, slot, pos, score = found
        rows, row = self.n, user
        if members is not None:
            row_of = torch.full((self.n,), -1, dtype=torch.int64)
            row_of[members] = torch.arange(len(members))
            keep = row_of[user] >= 0
            rows, row, slot, pos, score = len(members), row_of[user[keep]], slot[keep], pos[keep], score[keep]
        flat = row * width + slot  # one flat scatter is several times faster than 2-D advanced indexing
        cand = torch.full((rows * width,), float("-inf")).scatter_(0, flat, score)
        cand_pos = torch.full((rows * width,), -1, dtype=torch.int64).scatter_(0, flat, pos)
        return cand.view(rows, width), cand_pos.view(rows, width)


def _ranked(cand: torch.Tensor, cand_pos: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k best scores of each row, best first, and their norm-order positions (-1 at empty slots)."""
    values, at = torch.topk(cand, k, dim=1, sorted=True)
    return values, torch.gather(cand_pos, 1, at)


def _depths(x: torch.Tensor, threshold: torch.Tensor, full: torch.Tensor, items: DotItems) -> torch.Tensor:
    """Per user, how many items (in norm order) can reach their threshold: |y_i| >= t_u / |x_u| (Cauchy-Schwarz)."""
    norms = torch.linalg.vector_norm(x, dim=1).clamp_min(1e-30)
    need = torch.where(threshold > 0, threshold * (1 - 1e-4) / norms, float("-inf"))
    depth = items.n_items - torch.searchsorted(items.norms_ascending, need)
    depth[full] = 0
    return depth


def _scan_tiles(x: torch.Tensor, threshold: torch.Tensor, depth: torch.Tensor, items: DotItems, tiles: np.ndarray,
                seen: _SeenByTile, found: _Candidates, tile_items: int) -> None:
    """Score each tile after the probe for the users who go that deep (users sorted by depth, so they are a
    prefix), mask their seen items and keep the scores above their thresholds."""
    order = torch.argsort(depth, descending=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    depth_sorted, x_sorted, threshold_sorted = depth[order], x[order], threshold[order].unsqueeze(1)
    buffer = torch.empty(max(1, int((depth > int(tiles[1])).sum())) * max(1, tile_items))
    for tile in range(1, len(tiles) - 1):
        lo, hi = int(tiles[tile]), int(tiles[tile + 1])
        users = int((depth_sorted > lo).sum())
        if users == 0:
            break
        scores = torch.mm(x_sorted[:users], items.vectors_t[:, lo:hi], out=buffer[: users * (hi - lo)].view(users, hi - lo))
        seen.mask(scores, tile, rank)
        hits = (scores >= threshold_sorted[:users]).nonzero()
        found.keep(hits[:, 0], order[hits[:, 0]], hits[:, 1] + lo, scores[hits[:, 0], hits[:, 1]])


def _rank_whole_rows(x: torch.Tensor, who: torch.Tensor, items: DotItems, history: sp.csr_matrix | None,
                     rows: np.ndarray, k: int, out_items: np.ndarray, out_scores: np.ndarray) -> None:
    """Users with fewer than k unseen items in the probe have no bound: score and sort their whole rows."""
    scores = torch.mm(x[who], items.vectors_t)[:, torch.from_numpy(items.position)]  # items in id order
    if history is not None:
        mask_seen(scores, history, np.asarray(rows, dtype=np.int64)[who.numpy()])
    values, at = torch.topk(scores, k, dim=1, sorted=True)
    out_scores[who.numpy()] = values.numpy()
    out_items[who.numpy()] = at.numpy()


def recommend(
    model: Recommender,
    users: np.ndarray,
    k: int,
    history: sp.csr_matrix | None = None,
    chunk_users: int | None = None,
    history_rows: np.ndarray | None = None,
    memory_budget_mb: float | None = None,
) -> Iterator[TopK]:
    """Yield the top-k of ``users`` chunk by chunk, excluding each user's items in ``history`` when given.

    ``history_rows[i]`` is the row of ``history`` holding user ``users[i]``'s items (default: the same index).
    ``chunk_users`` (default: from ``memory_budget_mb``, see ``chunk_users_for``) bounds the users per chunk.
    """
    users = np.asarray(users, dtype=np.int64)
    rows = users if history_rows is None else np.asarray(history_rows, dtype=np.int64)
    factors = model.dot_factors() if callable(getattr(model, "dot_factors", None)) else None
    factor_path = factors is not None and factors[0].device.type == "cpu"
    if not chunk_users or chunk_users <= 0:
        chunk_users = chunk_users_for(model.n_items, memory_budget_mb, factor_path)
    with torch.inference_mode():
        if factor_path:
            user_factors, item_factors = factors
            prepared = DotItems(item_factors, PROBE_ITEMS)
            for lo in range(0, len(users), chunk_users):
                chunk = users[lo : lo + chunk_users]
                vectors = user_factors[torch.from_numpy(chunk)]
                items, scores = topk_dot(vectors, prepared, k, history, rows[lo : lo + chunk_users])
                yield TopK(users=chunk, items=items, scores=scores)
            return
        for lo in range(0, len(users), chunk_users):
            chunk = users[lo : lo + chunk_users]
            scores = model.score(chunk).to(torch.float32)
            if not scores.is_contiguous():
                scores = scores.contiguous()
            values, indices = topk_masked(scores, k, history, rows[lo : lo + chunk_users])
            yield TopK(users=chunk, items=indices.cpu().numpy(), scores=values.cpu().numpy())


def _as_strings(ids: np.ndarray | pa.Array) -> pa.Array:
    return ids if isinstance(ids, pa.Array) else pa.array(np.asarray(ids).astype(str), pa.string())


def to_rows(top: TopK, user_ids: np.ndarray | pa.Array, item_ids: np.ndarray | pa.Array) -> pa.Table:
    """Long format for the recommendations table: user_id, rank (1-based), item_id, score; empty slots dropped.

    The ids may be numpy arrays or Arrow string arrays (faster when called once per chunk with the same ids).
    """
    n, k = top.items.shape
    valid = top.items >= 0
    local_user = np.repeat(np.arange(n), k).reshape(n, k)[valid]
    ranks = np.tile(np.arange(1, k + 1, dtype=np.int32), n).reshape(n, k)[valid]
    if isinstance(user_ids, pa.Array):
        users = user_ids.take(pa.array(top.users))
    else:
        users = _as_strings(np.asarray(user_ids)[top.users])
    return pa.table(
        {
            "user_id": users.take(pa.array(local_user)),
            "rank": pa.array(ranks, pa.int32()),
            "item_id": _as_strings(item_ids).take(pa.array(top.items[valid])),
            "score": pa.array(top.scores[valid].astype(np.float32), pa.float32()),
        }
    )
