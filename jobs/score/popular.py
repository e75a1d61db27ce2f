"""The run's popular_items (rank, item_id, score): the fallback list, also published for consumers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from jobs.config import Settings
from jobs.files import write_parquet
from jobs.records import RunContext
from jobs.score.rules import allowed_items
from jobs.train.snapshot import load_snapshot
from models.popularity import Popularity
from models.topk import recommend


def write_popular_items(settings: Settings, run: RunContext) -> dict[str, int | str]:
    """The ``score.popular_items`` (at least top_n) most popular items of the run's snapshot that tonight's rules
    allow (available, excluded for nobody as a whole), to Parquet."""
    files = settings.layout.run(run.key)
    data = load_snapshot(files).data
    model = Popularity().fit(data)
    allowed = allowed_items(files, run.as_of, data.n_items)
    # The items no list may show tonight (unavailable, excluded for everyone) are the fallback's "history".
    ruled_out = sp.csr_matrix((~allowed)[None, :].astype(np.float32))
    n = min(max(settings.score.popular_items, settings.score.top_n), int(allowed.sum()))
    top = next(recommend(model, np.array([0]), max(n, 1), ruled_out))
    items, scores = top.items[0][:n], top.scores[0][:n]
    table = pa.table({
        "rank": pa.array(np.arange(1, n + 1, dtype=np.int32)),
        "item_id": pa.array(data.item_ids[items].astype(str)),
        "score": pa.array(scores.astype(np.float32)),
    })
    write_parquet(table, files.popular_items)
    return {"items": n, "path": str(files.popular_items)}
