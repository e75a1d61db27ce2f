"""Time features of (user, item) pairs, for rankers over data that carry timestamps (``Interactions.rated_at``).

Each is measured at the user's own moment, their latest interaction in the data the bases fit on, because
users of MovieLens-class data rate in bursts months apart, and what was new or popular then is what they
chose from:

- ``item_recent_popularity``: log(1 + the item's interactions in the ``window_days`` up to that moment relative
  to the mean item's), what was in vogue when the user was last active;
- ``item_age``: days from the item's first interaction to that moment, as sign(d) log(1 + |d|) (negative: the
  item first appeared later), new releases against the back catalogue;
- ``user_idle``: log(1 + days from that moment to the data's end), how stale the user's taste may be.

Only the past counts: an item's interactions after the user's moment never enter its popularity then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

NAMES = ("item_recent_popularity", "item_age", "user_idle")
DAY = 86400.0


@dataclass
class Recency:
    """The side data of one fit: the users' moments and the items' interaction times."""

    user_moment: np.ndarray  # int64 seconds (from ``origin``) of each user's latest interaction; ``end`` if none
    item_first: np.ndarray  # int64 seconds of each item's first interaction; ``end`` if none
    item_keys: np.ndarray  # sorted int64: item * ``stride`` + seconds, one per interaction
    times: np.ndarray  # sorted int64 seconds of every interaction
    end: int  # the latest interaction's seconds
    stride: int
    window: int  # seconds
    n_items: int

    @classmethod
    def of(cls, matrix: sp.csr_matrix, rated_at: np.ndarray, window_days: float) -> Recency:
        """From a CSR matrix with sorted indices and the epoch seconds of its entries (CSR order)."""
        n_users, n_items = matrix.shape
        origin = float(rated_at.min()) if len(rated_at) else 0.0
        seconds = np.floor(np.asarray(rated_at, dtype=np.float64) - origin).astype(np.int64)
        end = int(seconds.max()) if len(seconds) else 0
        stride = end + 1
        user_moment = np.full(n_users, end, dtype=np.int64)
        nonempty = np.diff(matrix.indptr) > 0
        if nonempty.any():  # each user's segment of seconds, in CSR order
            user_moment[nonempty] = np.maximum.reduceat(seconds, matrix.indptr[:-1][nonempty])
        item_first = np.full(n_items, end, dtype=np.int64)
        np.minimum.at(item_first, matrix.indices, seconds)
        return cls(user_moment, item_first, np.sort(matrix.indices.astype(np.int64) * stride + seconds),
                   np.sort(seconds), end, stride, int(window_days * DAY), n_items)

    def features(self, users: np.ndarray, items: np.ndarray) -> list[np.ndarray]:
        """float32 columns ``NAMES`` for the pairs (users[i], items[i])."""
        moment = self.user_moment[users]
        since = moment - self.window
        items = np.asarray(items, dtype=np.int64)
        in_window = (np.searchsorted(self.item_keys, items * self.stride + moment, side="right")
                     - np.searchsorted(self.item_keys, items * self.stride + np.maximum(since, -1), side="right"))
        everyone = np.searchsorted(self.times, moment, side="right") - np.searchsorted(self.times, since, side="right")
        popularity = np.log1p(in_window * self.n_items / np.maximum(everyone, 1))
        age = (moment - self.item_first[items]) / DAY
        idle = np.log1p((self.end - moment) / DAY)
        return [popularity.astype(np.float32), (np.sign(age) * np.log1p(np.abs(age))).astype(np.float32),
                idle.astype(np.float32)]
