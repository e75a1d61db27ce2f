"""The run's popular_items (rank, item_id, score): the fallback list, also published for consumers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from jobs.config import Settings
from jobs.files import write_parquet
from jobs.records import RunContext
from jobs.train.snapshot import load_snapshot
from models.popularity import Popularity
from models.topk import recommend


def write_popular_items(settings: Settings, run: RunContext) -> dict[str, int | str]:
    """The ``score.popular_items`` (at least top_n) most popular items of the run's snapshot, to Parquet."""
    files = settings.layout.run(run.key)
    data = load_snapshot(files).data
    model = Popularity().fit(data)
    n = min(max(settings.score.popular_items, settings.score.top_n), data.n_items)
    top = next(recommend(model, np.array([0]), n, None))
    table = pa.table({
        "rank": pa.array(np.arange(1, n + 1, dtype=np.int32)),
        "item_id": pa.array(data.item_ids[top.items[0]].astype(str)),
        "score": pa.array(top.scores[0].astype(np.float32)),
    })
    write_parquet(table, files.popular_items)
    return {"items": n, "path": str(files.popular_items)}
