"""Champion/challenger gate: which trained model scores tonight, and why.

Tonight's challenger is the best candidate on tonight's holdout by the configured metric. It replaces the
reigning champion unless it is worse than the champion's recorded value beyond a relative tolerance; then
the champion's own artifact (from the run that crowned it) scores tonight instead. Every decision is a row
in ``champions`` with its reason, and every candidate's metrics go to ``model_metrics``.

The reason also says how far tonight's best leads the runner-up in standard errors of their paired per-user
difference: on a small holdout two candidates a few thousandths apart are a coin toss, and whoever reads the
decision should know when it was one.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from jobs.config import Settings
from jobs.layout import RunFiles
from jobs.records import Champion, RunContext
from jobs.sql import run_sql
from jobs.train.candidates import load_metrics
from models.metrics import paired_difference, parse_metric

log = logging.getLogger("recs.champion")


@dataclass(frozen=True)
class Reign:
    """A champion as recorded: its model, the run whose artifact it is, and its metric value then."""

    model: str
    run_id: str
    value: float


@dataclass(frozen=True)
class Decision:
    champion_model: str
    champion_run_id: str
    metric: str
    champion_value: float
    challenger_model: str
    challenger_value: float
    decision: str  # first | promoted | retained | kept
    reason: str

    def champion(self) -> Champion:
        """The record the scoring steps act on."""
        return Champion(model=self.champion_model, run_id=self.champion_run_id, decision=self.decision,
                        reason=self.reason)


def decide(metric: str, challenger: Reign, previous: Reign | None, tolerance: float) -> Decision:
    """The gate as a pure function: promote the challenger unless it is worse than ``previous`` beyond ``tolerance``."""
    common = {"metric": metric, "challenger_model": challenger.model, "challenger_value": challenger.value}
    if previous is None:
        return Decision(challenger.model, challenger.run_id, champion_value=challenger.value, decision="first",
                        reason=f"no previous champion; {challenger.model} has the best {metric} ({challenger.value:.4f})", **common)
    floor = previous.value - abs(previous.value) * tolerance
    if math.isnan(challenger.value) or challenger.value < floor:
        return Decision(previous.model, previous.run_id, champion_value=previous.value, decision="kept",
                        reason=(f"challenger {challenger.model} {metric}={challenger.value:.4f} is worse than champion "
                                f"{previous.model} {previous.value:.4f} beyond the {tolerance:.0%} tolerance (floor {floor:.4f}); "
                                f"the champion's artifact from run {previous.run_id} scores"), **common)
    decision = "retained" if challenger.model == previous.model else "promoted"
    verb = "is not worse than" if challenger.value < previous.value else "beats"
    return Decision(challenger.model, challenger.run_id, champion_value=challenger.value, decision=decision,
                    reason=(f"challenger {challenger.model} {metric}={challenger.value:.4f} {verb} champion "
                            f"{previous.model} {previous.value:.4f} within the {tolerance:.0%} tolerance"), **common)


def ranked_candidates(metrics: dict[str, dict[str, Any]], metric: str) -> list[tuple[float, str]]:
    """(value, model) of every candidate that reported ``metric``, best first (popularity last among equals)."""
    name, k = parse_metric(metric)
    scored = []
    for model, record in metrics.items():
        values = [m["value"] for m in record["metrics"] if m["metric"] == name and m["k"] == k]
        if values and values[0] is not None and not math.isnan(values[0]):
            scored.append((values[0], model))
    return sorted(scored, key=lambda pair: (pair[0], pair[1] != "popularity"), reverse=True)


def lead_over_runner_up(files: RunFiles, metric: str, ranked: list[tuple[float, str]]) -> str:
    """'; it leads <runner-up> by d, z standard errors of the per-user difference (...)', or '' when unknown."""
    if len(ranked) < 2:
        return ""
    (_, best), (_, second) = ranked[:2]
    paths = [files.per_user_file(model) for model in (best, second)]
    if not all(path.exists() for path in paths):
        return ""
    joined = pd.read_parquet(paths[0]).merge(pd.read_parquet(paths[1]), on="user_index", suffixes=("_best", "_second"))
    difference = (joined[f"{metric}_best"] - joined[f"{metric}_second"]).to_numpy()
    if len(difference) < 2:
        return ""
    mean, _, z = paired_difference(difference)
    verdict = "beyond the noise" if z >= 2 else "within the noise: a coin toss between them"
    return (f"; {best} leads {second} by {mean:.4f}, {z:.1f} standard errors of the per-user "
            f"difference over {len(difference)} users ({verdict})")


def previous_reign(con: duckdb.DuckDBPyConnection, run_id: str) -> Reign | None:
    row = run_sql(con, "champions/previous", {"run_id": run_id}).fetchone()
    return Reign(model=row[0], run_id=row[1], value=row[2]) if row else None


def _metric_rows(run: RunContext, metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"run_id": run.run_id, "model": model, "metric": m["metric"], "k": m["k"], "value": m["value"]}
        for model, record in metrics.items() for m in record["metrics"]
    ], columns=["run_id", "model", "metric", "k", "value"]).astype({"k": "Int64", "value": "float64"})


def select_champion(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection, decided_at: datetime,
                    force_promote: bool = False) -> Decision:
    """Record tonight's metrics and the gate's decision in the warehouse; returns the decision."""
    files = settings.layout.run(run.key)
    metrics = load_metrics(files)
    if not metrics:
        raise RuntimeError(f"run {run.run_id}: no trained candidates under {files.metrics}")
    metric = settings.train.champion_metric
    ranked = ranked_candidates(metrics, metric)
    if not ranked:
        raise RuntimeError(f"no candidate reported {metric}; trained: {sorted(metrics)}")
    con.execute("begin transaction")
    try:
        run_sql(con, "champions/clear_metrics", {"run_id": run.run_id})
        con.register("candidate_metrics", _metric_rows(run, metrics))
        run_sql(con, "champions/insert_metrics")
        con.unregister("candidate_metrics")
        challenger = Reign(model=ranked[0][1], run_id=run.run_id, value=ranked[0][0])
        previous = None if force_promote else previous_reign(con, run.run_id)
        decision = decide(metric, challenger, previous, settings.train.gate_tolerance)
        decision = replace(decision, reason=decision.reason + lead_over_runner_up(files, metric, ranked))
        run_sql(con, "champions/record", {"run_id": run.run_id, "decided_at": decided_at, **asdict(decision)})
        run_sql(con, "runs/record_champion", {"run_id": run.run_id, "champion_model": decision.champion_model})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    log.info("champion: %s (%s) — %s", decision.champion_model, decision.decision, decision.reason)
    return decision
