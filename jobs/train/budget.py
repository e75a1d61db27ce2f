"""The nightly's time budget (``[train] night_budget_minutes``): which candidates train tonight, and why not the rest.

Before anything trains, each candidate is charged its declared fit-time estimate (``models.cost``) for the data's
shape: one fit on the holdout's training part, and the champion's refit on all the data, charged once for the
costliest refit among those kept (only the winner refits). Candidates are taken in the configured order; one
whose charge would take the night past the budget is skipped tonight, with a warning in the log and a row in the
warehouse's ``skipped_candidates`` (the run's report lists them). The reigning champion's configuration is never
skipped (the gate judges every challenger against it), nor is a candidate with no estimate; and when every
candidate would break the budget, the cheapest still trains, so a night always has a champion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from jobs.config import Settings
from jobs.layout import RunFiles
from jobs.records import RunContext
from jobs.sql import q_literal, run_sql
from models.cost import Shape, estimate_fit_seconds, estimate_refit_seconds
from models.registry import model_class

log = logging.getLogger("recs.budget")


@dataclass(frozen=True)
class Charge:
    """One candidate's estimated cost tonight, in seconds (None: the family declares none)."""

    key: str
    fit: float | None
    refit: float | None
    protected: bool = False


def snapshot_shape(con: duckdb.DuckDBPyConnection, files: RunFiles) -> Shape:
    row = run_sql(con, "training/snapshot_shape", interactions_path=q_literal(files.snapshot_file("interactions"))).fetchone()
    return Shape(*(int(v or 0) for v in row))


def charge(settings: Settings, key: str, model: str, params: dict, shape: Shape, protected: bool = False) -> Charge:
    config = model_class(model).config_class(**params)
    speed = settings.train.machine_speed
    train_part = shape.scaled(1 - settings.train.holdout_fraction)
    return Charge(key, estimate_fit_seconds(model, config, train_part, speed),
                  estimate_refit_seconds(model, config, shape, speed), protected)


def within_budget(charges: list[Charge], budget_seconds: float) -> tuple[list[str], dict[str, str]]:
    """(the keys that train tonight, in order; {skipped key: why}) for ``charges`` against ``budget_seconds``."""
    kept: list[Charge] = [c for c in charges if c.protected or c.fit is None]
    skipped: dict[str, str] = {}

    def total(with_: list[Charge]) -> float:
        fits = sum(c.fit or 0.0 for c in with_)
        return fits + max((c.refit or 0.0 for c in with_), default=0.0)

    for c in charges:
        if c in kept:
            continue
        if total([*kept, c]) <= budget_seconds:
            kept.append(c)
        else:
            skipped[c.key] = (f"estimated {c.fit:.0f} s to fit on the training part and {c.refit:.0f} s to refit: "
                              f"the night would take {total([*kept, c]):.0f} s of its {budget_seconds:.0f} s budget")
    if not kept:  # every candidate breaks the budget: the cheapest still trains
        cheapest = min(charges, key=lambda c: (c.fit or 0.0) + (c.refit or 0.0))
        kept.append(cheapest)
        log.warning("every candidate breaks the night's budget; %s, the cheapest, trains anyway: %s", cheapest.key,
                    skipped.pop(cheapest.key))
    order = {c.key: i for i, c in enumerate(charges)}
    return sorted((c.key for c in kept), key=order.__getitem__), skipped


def record_skipped(con: duckdb.DuckDBPyConnection, run: RunContext, charges: list[Charge], skipped: dict[str, str],
                   budget_seconds: float) -> None:
    """Replace the run's rows of ``skipped_candidates`` with tonight's, and say so in the log."""
    run_sql(con, "training/clear_skipped", {"run_id": run.run_id})
    for c in charges:
        if c.key in skipped:
            log.warning("candidate %s skipped tonight: %s ([train] night_budget_minutes)", c.key, skipped[c.key])
            run_sql(con, "training/record_skipped", {"run_id": run.run_id, "model": c.key, "estimated_seconds": c.fit,
                                                     "refit_seconds": c.refit, "budget_seconds": budget_seconds,
                                                     "reason": skipped[c.key]})
