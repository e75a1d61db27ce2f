"""``python -m jobs.bench.content_fit``: content TF-IDF fitted at the 20M preset's shape (138k users, 27k items,
20M ratings, the seeded generator) with learned user profiles, as similar items fitted it before, and with
``profile = "mean"``, as ``jobs.score.similar.SIMILARITY_ONLY`` fits it now: same item vectors, so the same
similar items (``tests/models/test_content.py``), without the per-user regressions. Prints both fit times."""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
import torch

from jobs.sample.data import DEFAULT_END_DATE, SIZES, generate_items
from jobs.sample.world import ratings_arrays
from models.base import Interactions, TrainOptions
from models.content import ContentTFIDF, ContentTFIDFConfig


def main() -> None:
    torch.set_num_threads(len(__import__("os").sched_getaffinity(0)))
    n_ratings, n_users, n_items = SIZES["20M"]
    arrays = ratings_arrays(n_ratings, n_users, n_items, 42, DEFAULT_END_DATE, 42, True)
    _, rows = np.unique(arrays["user_id"], return_inverse=True)
    item_ids, cols = np.unique(arrays["item_id"], return_inverse=True)
    matrix = sp.csr_matrix((arrays["rating"].astype(np.float32), (rows, cols)), shape=(rows.max() + 1, len(item_ids)))
    ids = item_ids.astype(str).astype(object)
    meta = generate_items(n_items, 42).assign(item_id=lambda f: f.item_id.astype(str)).set_index("item_id")
    data = Interactions(matrix, np.arange(matrix.shape[0]).astype(str).astype(object), ids,
                        meta.reindex(ids)[["title", "genres", "description"]])
    print(f"{data.n_users:,} users x {data.n_items:,} items, {data.nnz:,} ratings")
    for profile in ("learned", "mean"):
        started = time.perf_counter()
        ContentTFIDF(ContentTFIDFConfig(profile=profile)).fit(data, TrainOptions(seed=42))
        print(f"profile={profile}: fit in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
