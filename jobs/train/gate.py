"""Champion/challenger gate: which configuration serves tonight, and why, judged on ONE holdout.

Tonight's challenger is the best candidate on tonight's holdout by the configured metric. The reigning champion
is judged on the same holdout: its configuration (model and params, as the last decision recorded them) is
fitted on tonight's training split, by the candidate of that model when its params are the same, else as an
extra candidate (``REIGNING``, added by ``candidates_for``). A harder or easier night moves both alike, so
the two are compared on their paired per-user difference: the challenger replaces the champion only when it
leads by more than ``train.gate_tolerance`` (relative) and by at least ``train.gate_min_z`` standard errors;
ties within the noise keep the champion. Whichever configuration wins is then fitted on all of tonight's data.
Every decision is a row in ``champions`` (both values and the z) with its reason, and every candidate's
metrics go to ``model_metrics``.

The reason also says how far tonight's best leads the runner-up among tonight's candidates, in standard errors
of their paired per-user difference: on a small holdout two candidates a few thousandths apart are a coin toss.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from jobs.config import Settings
from jobs.layout import RunFiles
from jobs.records import Champion, RunContext
from jobs.sql import run_sql
from jobs.train.candidates import candidate_params, load_metrics
from models.metrics import paired_difference, parse_metric

log = logging.getLogger("recs.champion")

#: The metrics record of the reigning champion's configuration when no candidate tonight has it.
REIGNING = "reigning"


@dataclass(frozen=True)
class Reign:
    """The champion as the last decision recorded it: the configuration that serves, and the run that decided."""

    model: str
    params: dict[str, Any] | None  # None: recorded before params were (the model's current candidate stands in)
    run_id: str


@dataclass(frozen=True)
class Entry:
    """A configuration judged tonight: its metrics record (``metrics/<key>.json``), its model and its value."""

    key: str
    model: str
    value: float


@dataclass(frozen=True)
class Verdict:
    winner: Entry
    decision: str  # first | promoted | retained | kept | forced
    reason: str


def decide(metric: str, challenger: Entry, reigning: Entry | None, z: float | None, tolerance: float,
           min_z: float) -> Verdict:
    """The gate as a pure function of tonight's values and the paired z of challenger minus reigning."""
    if reigning is None:
        return Verdict(challenger, "first", f"no previous champion; {challenger.model} has the best {metric} "
                                            f"({challenger.value:.4f})")
    if challenger.key == reigning.key:
        return Verdict(challenger, "retained", f"the champion's configuration, {challenger.model}, is tonight's best "
                                               f"{metric} ({challenger.value:.4f})")
    lead = challenger.value - reigning.value
    relative = lead / abs(reigning.value) if reigning.value else math.inf
    shown = f"z = {z:.1f}" if z is not None and math.isfinite(z) else "z unknown"
    facts = (f"on tonight's holdout challenger {challenger.model} {metric}={challenger.value:.4f}, champion "
             f"{reigning.model} {reigning.value:.4f}: lead {lead:+.4f} ({relative:+.1%}), {shown}")
    if z is not None and not math.isnan(z) and relative > tolerance and z >= min_z:
        return Verdict(challenger, "promoted", f"{facts}: beyond the {tolerance:.0%} tolerance and {min_z:g} standard errors")
    return Verdict(reigning, "kept", f"{facts}: not beyond the {tolerance:.0%} tolerance and {min_z:g} standard errors; "
                                     f"the champion's configuration serves, refitted on tonight's data")


def metric_of(record: dict[str, Any], metric: str) -> float | None:
    name, k = parse_metric(metric)
    values = [m["value"] for m in record["metrics"] if m["metric"] == name and m["k"] == k]
    return values[0] if values and values[0] is not None and not math.isnan(values[0]) else None


def ranked_candidates(metrics: dict[str, dict[str, Any]], metric: str) -> list[tuple[float, str]]:
    """(value, key) of every candidate that reported ``metric``, best first (popularity last among equals)."""
    scored = [(value, key) for key, record in metrics.items() if (value := metric_of(record, metric)) is not None]
    return sorted(scored, key=lambda pair: (pair[0], pair[1] != "popularity"), reverse=True)


def paired_z(files: RunFiles, metric: str, first: str, second: str) -> tuple[float, int] | None:
    """(z of first minus second per user, users) from their per-user files; None where unknown."""
    paths = [files.per_user_file(key) for key in (first, second)]
    if not all(path.exists() for path in paths):
        return None
    joined = pd.read_parquet(paths[0]).merge(pd.read_parquet(paths[1]), on="user_index", suffixes=("_1", "_2"))
    difference = (joined[f"{metric}_1"] - joined[f"{metric}_2"]).to_numpy()
    return (paired_difference(difference)[2], len(difference)) if len(difference) >= 2 else None


def lead_over_runner_up(files: RunFiles, metric: str, ranked: list[tuple[float, str]]) -> str:
    """'; it leads <runner-up> by d, z standard errors of the per-user difference (...)', or '' when unknown."""
    if len(ranked) < 2:
        return ""
    (best_value, best), (second_value, second) = ranked[:2]
    paired = paired_z(files, metric, best, second)
    if paired is None:
        return ""
    z, users = paired
    verdict = "beyond the noise" if z >= 2 else "within the noise: a coin toss between them"
    return (f"; {best} leads {second} by {best_value - second_value:.4f}, {z:.1f} standard errors of the per-user "
            f"difference over {users} users ({verdict})")


def previous_reign(con: duckdb.DuckDBPyConnection, run_id: str) -> Reign | None:
    row = run_sql(con, "champions/previous", {"run_id": run_id}).fetchone()
    return Reign(model=row[0], params=json.loads(row[1]) if row[1] else None, run_id=row[2]) if row else None


def _same_config(settings: Settings, reign: Reign, model: str) -> bool:
    """Whether tonight's candidate ``model`` is the reigning configuration (same model, same params)."""
    if model != reign.model:
        return False
    if reign.params is None:
        return True
    from models.registry import build

    return build(model, candidate_params(settings, model)).config.to_dict() == reign.params


def candidates_for(settings: Settings, con: duckdb.DuckDBPyConnection, run: RunContext) -> list[str]:
    """Tonight's candidates (``train.models``), plus ``REIGNING`` when none of them is the champion's configuration,
    less those the night's time budget cannot afford (``jobs.train.budget``: skipped, with the reason recorded)."""
    from jobs.train import budget

    models = list(settings.train.models)
    reign = previous_reign(con, run.run_id)
    reigning = [m for m in models if reign is not None and _same_config(settings, reign, m)]
    if reign is not None and not reigning:
        models.append(REIGNING)
    shape = budget.snapshot_shape(con, settings.layout.run(run.key))
    charges = [budget.charge(settings, key, reign.model if key == REIGNING else key,
                             (reign.params or candidate_params(settings, reign.model)) if key == REIGNING
                             else candidate_params(settings, key), shape, protected=key == REIGNING or key in reigning)
               for key in models]
    seconds = settings.train.night_budget_minutes * 60
    kept, skipped = budget.within_budget(charges, seconds)
    budget.record_skipped(con, run, charges, skipped, seconds)
    return kept


def _reigning_entry(settings: Settings, reign: Reign | None, metrics: dict[str, dict[str, Any]],
                    metric: str) -> Entry | None:
    if reign is None:
        return None
    key = REIGNING if REIGNING in metrics else next(
        (k for k in metrics if k != REIGNING and _same_config(settings, reign, metrics[k]["model"])), None)
    value = metric_of(metrics[key], metric) if key else None
    if value is None:
        log.warning("the reigning champion %s was not evaluated tonight; the gate judges without it", reign.model)
        return None
    return Entry(key, reign.model, value)


def _metric_rows(run: RunContext, metrics: dict[str, dict[str, Any]]) -> pd.DataFrame:
    label = {key: f"{REIGNING}:{record['model']}" if key == REIGNING else key for key, record in metrics.items()}
    return pd.DataFrame([
        {"run_id": run.run_id, "model": label[key], "metric": m["metric"], "k": m["k"], "value": m["value"]}
        for key, record in metrics.items() for m in record["metrics"]
    ], columns=["run_id", "model", "metric", "k", "value"]).astype({"k": "Int64", "value": "float64"})


def select_champion(settings: Settings, run: RunContext, con: duckdb.DuckDBPyConnection, decided_at: datetime,
                    force_promote: bool = False) -> Champion:
    """Record tonight's metrics and the gate's decision in the warehouse; returns the champion that serves."""
    files = settings.layout.run(run.key)
    metrics = load_metrics(files)
    metric = settings.train.champion_metric
    ranked = ranked_candidates({k: r for k, r in metrics.items() if k != REIGNING}, metric)
    if not ranked:
        raise RuntimeError(f"run {run.run_id}: no candidate under {files.metrics} reported {metric}")
    challenger = Entry(ranked[0][1], metrics[ranked[0][1]]["model"], ranked[0][0])
    reigning = _reigning_entry(settings, previous_reign(con, run.run_id), metrics, metric)
    paired = paired_z(files, metric, challenger.key, reigning.key) if reigning and reigning.key != challenger.key else None
    z = paired[0] if paired else None
    verdict = decide(metric, challenger, reigning, z, settings.train.gate_tolerance, settings.train.gate_min_z)
    if force_promote and verdict.winner != challenger:  # the operator crowns tonight's best, whatever the gate says
        verdict = Verdict(challenger, "forced", f"forced by the operator (force_publish); the gate said: {verdict.reason}")
    reason = f"judged on {settings.train.protocol}; {verdict.reason}{lead_over_runner_up(files, metric, ranked)}"
    winner = verdict.winner
    con.execute("begin transaction")
    try:
        run_sql(con, "champions/clear_metrics", {"run_id": run.run_id})
        con.register("candidate_metrics", _metric_rows(run, metrics))
        run_sql(con, "champions/insert_metrics")
        con.unregister("candidate_metrics")
        run_sql(con, "champions/record", {
            "run_id": run.run_id, "champion_model": winner.model, "champion_run_id": run.run_id, "metric": metric,
            "champion_value": winner.value, "challenger_model": challenger.model, "challenger_value": challenger.value,
            "decision": verdict.decision, "reason": reason, "decided_at": decided_at,
            "champion_params": json.dumps(metrics[winner.key]["params"], sort_keys=True),
            "reigning_model": reigning.model if reigning else None,
            "reigning_value": reigning.value if reigning else None, "z": z,
        })
        run_sql(con, "runs/record_champion", {"run_id": run.run_id, "champion_model": winner.model})
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    log.info("champion: %s (%s) — %s", winner.model, verdict.decision, reason)
    return Champion(model=winner.model, run_id=run.run_id, decision=verdict.decision, reason=reason,
                    candidate=winner.key)
