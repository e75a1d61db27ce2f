"""Business rules at scoring time: which items each placement may recommend tonight, and to whom not.

The rules come from the run's snapshot (frozen at the cut-off by ``freeze_snapshot``), so every shard and the
output checks see the same ones:

- **exclusions** (landing/exclusions): an item excluded for one user, or, with a blank user, for everyone (out of
  stock, withdrawn); one whose ``until`` has passed no longer applies;
- **availability** (``available_from`` / ``available_until`` in landing/items): an item outside its window at
  the cut-off is recommended to nobody;
- **promotions** (landing/promotions): the items that a placement with ``promoted_slots`` gives its slots to;
- **the placement's filter**: a SQL predicate over the items' columns, evaluated by DuckDB. The predicate is
  configuration, so it runs on a connection of its own that holds only the snapshot's tables and has external
  access switched off: whatever it says, it can read and write no file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import scipy.sparse as sp

from jobs.config import Placement
from jobs.layout import RunFiles
from jobs.sql import Quoted, q_identifier, q_literal, run_sql

log = logging.getLogger("recs.rules")

#: Snapshot files the rules connection loads, as tables of the same names.
_TABLES = ("items", "users", "exclusions", "promotions")


class PlacementFilterError(ValueError):
    """A placement's filter is not a predicate DuckDB can evaluate over the items."""


@dataclass
class PlacementItems:
    """What one placement may recommend tonight, as sorted item indices of the snapshot."""

    placement: Placement
    eligible: np.ndarray  # every item the placement may show, promoted ones included
    promoted: np.ndarray  # the eligible items promoted tonight (empty when the placement has no promoted slots)

    @property
    def organic(self) -> np.ndarray:
        """The items ranked by score alone: the eligible ones, less those competing for the promoted slots."""
        return np.setdiff1d(self.eligible, self.promoted, assume_unique=True)


@dataclass
class Rules:
    placements: list[PlacementItems]
    #: users x items of the snapshot, nonzero where a per-user exclusion applies tonight.
    user_exclusions: sp.csr_matrix
    counts: dict[str, int]

    def blocked(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """Every (user, item) no list may hold: the user's history and their exclusions (the pattern only)."""
        if self.user_exclusions.nnz == 0:
            return history
        union = (history != 0).astype(np.float32) + self.user_exclusions
        return sp.csr_matrix(union, dtype=np.float32)


def rules_connection(files: RunFiles) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB holding the snapshot's items, users and rules, unable to touch any file afterwards."""
    con = duckdb.connect()
    for table in _TABLES:
        run_sql(con, "rules/load_snapshot_table", table=q_identifier(table), path=q_literal(files.snapshot_file(table)))
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def _predicate(placement: Placement) -> Quoted:
    # Configuration the operators own, not data: filled in as SQL on purpose, on the sandboxed connection.
    return Quoted(f"({placement.filter})" if placement.filter.strip() else "true")


def placement_frame(con: duckdb.DuckDBPyConnection, placement: Placement, as_of: datetime) -> pd.DataFrame:
    """(item_index, item_id, promoted) of the items ``placement`` may recommend at ``as_of``."""
    try:
        frame = run_sql(con, "rules/placement_items", {"as_of": as_of}, predicate=_predicate(placement)).df()
    except duckdb.Error as exc:
        first = str(exc).strip().splitlines()[0]
        raise PlacementFilterError(f"[placements.{placement.name}] filter {placement.filter!r} is not a predicate "
                                   f"over the items columns: {first}") from None
    if not placement.promoted_slots:
        frame["promoted"] = False
    return frame


def allowed_items(files: RunFiles, as_of: datetime, n_items: int) -> np.ndarray:
    """(n_items,) bool: the items tonight's rules let any list show (available, excluded for nobody as a whole),
    for the lists that belong to no placement: popular_items and similar_items."""
    con = rules_connection(files)
    try:
        index = placement_frame(con, Placement(), as_of)["item_index"].to_numpy(np.int64)
    finally:
        con.close()
    allowed = np.zeros(n_items, dtype=bool)
    allowed[index] = True
    return allowed


def placement_items_frame(files: RunFiles, placements: tuple[Placement, ...], as_of: datetime) -> pd.DataFrame:
    """(placement, item_id, promoted) for every placement: the eligibility the output checks hold lists to."""
    con = rules_connection(files)
    try:
        frames = [placement_frame(con, p, as_of).assign(placement=p.name) for p in placements]
    finally:
        con.close()
    return pd.concat(frames, ignore_index=True)[["placement", "item_id", "promoted"]]


def load_rules(files: RunFiles, placements: tuple[Placement, ...], as_of: datetime, shape: tuple[int, int]) -> Rules:
    """Tonight's rules for ``placements`` over a snapshot of ``shape`` (users, items)."""
    con = rules_connection(files)
    try:
        found = []
        for placement in placements:
            frame = placement_frame(con, placement, as_of)
            eligible = frame["item_index"].to_numpy(np.int64)
            found.append(PlacementItems(placement, eligible, eligible[frame["promoted"].to_numpy(bool)]))
        pairs = run_sql(con, "rules/user_exclusions").fetchnumpy()
        counts = run_sql(con, "rules/rule_counts", {"as_of": as_of}).df().iloc[0].astype(int).to_dict()
    finally:
        con.close()
    rows, cols = pairs["user_index"].astype(np.int64), pairs["item_index"].astype(np.int64)
    exclusions = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
    return Rules(found, exclusions, counts)


def summary(rules: Rules, n_items: int) -> dict[str, Any]:
    """Per placement: items eligible, filtered out, promoted; with tonight's rule counts."""
    ruled_out = rules.counts["items_ruled_out"]
    return {
        "rules": rules.counts,
        "placements": {
            p.placement.name: {"eligible_items": int(len(p.eligible)),
                               "filtered_out": int(n_items - ruled_out - len(p.eligible)),
                               "promoted_items": int(len(p.promoted))}
            for p in rules.placements
        },
    }
