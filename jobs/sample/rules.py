"""Example business-rule files for the sample world, so the demo shows every rule at work.

Written beside the ratings by ``write_sample``: an availability window on some items (upcoming releases not yet
available at the sample's end, withdrawn ones no longer), ``exclusions/exclusions.csv`` (a few items out of stock
for everyone, and per-user "never show me this again" rows, some with an ``until`` that has passed) and
``promotions/promotions.csv`` (the new releases of the last days, promoted for a month). Seeded, like the rest.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jobs.files import replacing

#: How many items of the sample each rule touches.
UPCOMING, WITHDRAWN, OUT_OF_STOCK, USER_EXCLUSIONS, PROMOTED = 5, 5, 3, 40, 8


def with_availability(items: pd.DataFrame, end_date: date, seed: int) -> pd.DataFrame:
    """``items`` with available_from / available_until (ISO dates, blank = open) on a few items."""
    rng = np.random.default_rng(seed + 101)
    picked = rng.choice(len(items), UPCOMING + WITHDRAWN, replace=False)
    out = items.copy()
    out["available_from"], out["available_until"] = "", ""
    out.loc[out.index[picked[:UPCOMING]], "available_from"] = (end_date + timedelta(days=10)).isoformat()
    out.loc[out.index[picked[UPCOMING:]], "available_until"] = (end_date - timedelta(days=5)).isoformat()
    return out


def _write(path: Path, frame: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
    return path


def write_rules(landing_dir: Path, n_users: int, n_items: int, end_date: date, seed: int) -> dict[str, Any]:
    """Write the exclusions and promotions files; returns their paths and row counts."""
    rng = np.random.default_rng(seed + 202)
    items = rng.permutation(np.arange(1, n_items + 1))
    out_of_stock, promoted = items[:OUT_OF_STOCK], items[OUT_OF_STOCK:OUT_OF_STOCK + PROMOTED]
    users = rng.integers(1, n_users + 1, USER_EXCLUSIONS)
    per_user_items = rng.integers(1, n_items + 1, USER_EXCLUSIONS)
    # A third of the per-user exclusions expired before the sample's end, a third run on, a third are forever.
    until = np.array([(end_date - timedelta(days=3)).isoformat(), (end_date + timedelta(days=30)).isoformat(), ""])
    exclusions = pd.concat([
        pd.DataFrame({"user_id": "", "item_id": out_of_stock, "until": ""}),
        pd.DataFrame({"user_id": users, "item_id": per_user_items, "until": until[np.arange(USER_EXCLUSIONS) % 3]}),
    ])
    promotions = pd.DataFrame({"item_id": promoted, "from": (end_date - timedelta(days=3)).isoformat(),
                               "until": (end_date + timedelta(days=30)).isoformat()})
    return {
        "exclusions_file": str(_write(landing_dir / "exclusions" / "exclusions.csv", exclusions)),
        "exclusions": len(exclusions),
        "promotions_file": str(_write(landing_dir / "promotions" / "promotions.csv", promotions)),
        "promotions": len(promotions),
    }
