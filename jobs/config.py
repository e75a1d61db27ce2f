"""Settings: recs.toml defaults, overridden by RECS_CONFIG, rooted at RECS_HOME; the only reader of either.

One frozen object is built per task or command (``load_settings``, then ``with_params`` for a trigger's
overrides) and passed down; nothing else reads the environment or the config file, so tests can build settings
for a temporary RECS_HOME without touching globals. Environment variables: ``RECS_HOME``, ``RECS_CONFIG``,
``RECS_TRAIN_QUEUE`` (``[airflow] train_queue``), ``RECS_DEVICE`` (``[train] device``) and ``RECS_API_TOKEN``
(``[serve] token``).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from jobs.layout import OutputLayout

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "recs.toml"
SQL_DIR = PROJECT_ROOT / "sql"
#: Environment variables that override one setting each: variable -> (section, key).
ENV_OVERRIDES = {"RECS_TRAIN_QUEUE": ("airflow", "train_queue"), "RECS_DEVICE": ("train", "device"),
                 "RECS_API_TOKEN": ("serve", "token")}


@dataclass(frozen=True)
class IngestSettings:
    user_column: str = "user_id"
    item_column: str = "item_id"
    rating_column: str = "rating"
    timestamp_column: str = "timestamp"
    rating_min: float = 0.5
    rating_max: float = 5.0
    #: Timestamps later than the moment of ingest + this are quarantined (future_timestamp).
    future_tolerance_hours: float = 24.0
    #: Timestamps before this (ISO date or date-time, UTC) are quarantined (early_timestamp): epoch 0, year 1...
    earliest_timestamp: str = "1990-01-01"
    #: A landing file modified this recently that looks cut off (no final line break, no Parquet footer, empty)
    #: is still being written: it is left for a later run.
    settle_seconds: float = 60.0


@dataclass(frozen=True)
class TrainSettings:
    models: tuple[str, ...] = ("popularity", "ease", "ials")
    holdout_fraction: float = 0.1
    #: The protocol that judges candidates (models.splits): "global" (the most recent fraction of all
    #: interactions), "user" (each user's most recent fraction) or "random" (a seeded random fraction).
    holdout_scope: str = "global"
    #: For "random": a fraction of each "user"'s interactions, or of each "item"'s.
    holdout_stratify: str = "user"
    #: Tuning's folds: rolling-origin windows before the holdout's (time), or independent draws (random).
    tuning_folds: int = 3
    #: Under "random", tuning draws more folds (up to 10) until their test users add up to this: the noise guard
    #: needs them to see a gain of 0.0015 nDCG@10 at 2 SE (per-user sd of the paired gain about 0.074 on
    #: MovieLens-100K). A large data set reaches it with tuning_folds; 0 keeps tuning_folds everywhere.
    tuning_min_user_windows: int = 10000
    #: Tuning replaces the kept params only when the best trial's per-user gain over them, on the tuning
    #: windows, exceeds this many standard errors (jobs.train.tune.adopt_or_keep); 0 always takes the best trial.
    tuning_min_gain_se: float = 2.0
    champion_metric: str = "ndcg@10"
    #: The gate: tonight's best replaces the reigning champion's configuration only when, on tonight's holdout,
    #: it leads it by more than this (relative) and by at least gate_min_z standard errors of their paired
    #: per-user difference; otherwise the champion's configuration serves (refitted on tonight's data).
    gate_tolerance: float = 0.0
    gate_min_z: float = 2.0
    seed: int = 42
    #: The night's training budget: a candidate whose estimated fits (models.cost) would take the night past it is
    #: skipped tonight, with its reason in the log and the report (jobs.train.budget).
    night_budget_minutes: float = 4.0
    #: This machine's speed relative to the reference machine the estimates were measured on (2 = twice as fast).
    machine_speed: float = 1.0
    #: torch device for training and scoring ("cpu", "cuda", "cuda:1"); "" = CUDA when present, else the CPU.
    device: str = ""

    def __post_init__(self) -> None:
        from models.splits import SCOPES, STRATA

        if self.holdout_scope not in SCOPES:
            raise ValueError(f"[train] holdout_scope must be one of {', '.join(SCOPES)}, not {self.holdout_scope!r}")
        if self.holdout_stratify not in STRATA:
            raise ValueError(f"[train] holdout_stratify must be one of {', '.join(STRATA)}, not {self.holdout_stratify!r}")

    @property
    def protocol(self) -> str:
        """The holdout protocol in words, for logs and reports."""
        if self.holdout_scope == "random":
            return f"random {self.holdout_fraction:.0%} of each {self.holdout_stratify}'s interactions (seed {self.seed})"
        whose = "all interactions" if self.holdout_scope == "global" else "each user's interactions"
        return f"the latest {self.holdout_fraction:.0%} of {whose}"


@dataclass(frozen=True)
class TuneSettings:
    #: New Optuna trials per model and tuning run (the study keeps earlier ones).
    trials: int = 20
    #: Time budget per model and tuning run, in minutes.
    minutes: float = 3.0


@dataclass(frozen=True)
class ScoreSettings:
    top_n: int = 20
    #: Memory for one chunk of users' scores and work buffers, in MiB: sets the users per chunk.
    memory_budget_mb: int = 512
    #: Users per chunk; 0 derives it from memory_budget_mb and the number of items (models.topk.chunk_users_for).
    chunk_users: int = 0
    shards: int = 1
    #: How many popular items the popular_items table lists (at least top_n).
    popular_items: int = 100
    similar_top_k: int = 20
    similar_methods: tuple[str, ...] = ("champion", "content_tfidf")


@dataclass(frozen=True)
class EvaluateSettings:
    cutoffs: tuple[int, ...] = (10, 20, 30, 50)


@dataclass(frozen=True)
class PublishSettings:
    keep_versions: int = 5
    max_coverage_drop: float = 0.5
    max_metric_drop: float = 0.25


@dataclass(frozen=True)
class WarehouseSettings:
    #: How long a step waits for another process's lock on warehouse.duckdb before it fails, saying who holds it.
    lock_wait_seconds: float = 300.0


@dataclass(frozen=True)
class AirflowSettings:
    #: Celery/Kubernetes queue of the training tasks (point it at GPU workers: "gpu").
    train_queue: str = "default"
    #: A nightly DAG run is stopped after this long (dagrun_timeout); a run lock no step touched for as long is stale.
    run_timeout_hours: float = 6.0
    #: Every nightly task is retried this many times, this long after it failed (a lost worker's task included).
    retries: int = 2
    retry_delay_seconds: float = 120.0


@dataclass(frozen=True)
class ServeSettings:
    """``recs serve``, the HTTP read API (``jobs.api``)."""

    #: The bearer token clients send (``Authorization: Bearer <token>``); env RECS_API_TOKEN overrides it.
    token: str = ""
    #: The largest ``top`` a request may ask for.
    max_top: int = 100


#: The placement ``recommendations`` holds; every other placement lands in ``placement_recommendations``.
DEFAULT_PLACEMENT = "default"
_PLACEMENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


@dataclass(frozen=True)
class Placement:
    """A named list per user (``[placements.<name>]`` in recs.toml): its length, which items may appear, how
    diverse it is and how many slots promotions get. Filled from the same champion scores as every other."""

    name: str = DEFAULT_PLACEMENT
    #: Rows per user; 0 = ``[score] top_n`` (the default placement always uses that).
    top_n: int = 0
    #: A DuckDB SQL predicate over the ``items`` table's columns (item_id, title, genres, description,
    #: available_from, available_until), e.g. ``genres like '%Comedy%'``; "" = every item.
    filter: str = ""
    #: 0 = rank by score; up to 1 = maximal-marginal-relevance re-ranking trading score for variety.
    diversity: float = 0.0
    #: At most this many of each list's slots go to promoted items (landing/promotions); 0 = no promotions.
    promoted_slots: int = 0

    def __post_init__(self) -> None:
        where = f"[placements.{self.name}]"
        if not _PLACEMENT_NAME.match(self.name):
            raise ValueError(f"{where}: a placement name is lowercase letters, digits and '_', starting with a letter")
        if not 0.0 <= float(self.diversity) <= 1.0:
            raise ValueError(f"{where} diversity must be in [0, 1], not {self.diversity!r}")
        if int(self.top_n) < 0 or int(self.promoted_slots) < 0:
            raise ValueError(f"{where}: top_n and promoted_slots must not be negative")
        if self.name == DEFAULT_PLACEMENT and self.top_n:
            raise ValueError(f"{where}: the default placement's length is [score] top_n (or the trigger's top_n)")
        if ";" in self.filter:
            raise ValueError(f"{where} filter must be one SQL predicate, without ';'")

    def length(self, score_top_n: int) -> int:
        return int(self.top_n) or int(score_top_n)


@dataclass(frozen=True)
class MonitoringSettings:
    """Thresholds of the drift and run metrics measured every night (the ``run_monitoring`` table): crossing one
    logs a warning naming metric, value and threshold; it fails the run only with ``block_publish``."""

    #: Population stability index of tonight's rating values against the previous interval's.
    max_psi: float = 0.2
    #: Share of tonight's ratings by users (of items) with no rating before tonight's interval.
    max_new_user_share: float = 0.5
    max_new_item_share: float = 0.5
    #: Mean share of a user's items tonight that were not in their previous published list.
    max_churn: float = 0.9
    #: Gini coefficient of how often catalogue items appear in tonight's lists.
    max_gini: float = 0.95
    #: Distinct items recommended / catalogue items.
    min_coverage: float = 0.01
    #: Share of users served by the popularity fallback instead of the champion.
    max_fallback_share: float = 0.5
    #: A crossed threshold fails the run (nothing published; the previous version stays served) unless forced.
    block_publish: bool = False


SECTIONS: dict[str, type] = {
    "ingest": IngestSettings,
    "train": TrainSettings,
    "tune": TuneSettings,
    "score": ScoreSettings,
    "evaluate": EvaluateSettings,
    "publish": PublishSettings,
    "warehouse": WarehouseSettings,
    "airflow": AirflowSettings,
    "serve": ServeSettings,
    "monitoring": MonitoringSettings,
}


@dataclass(frozen=True)
class Settings:
    home: Path
    landing_dir: Path
    outputs_dir: Path
    ingest: IngestSettings = field(default_factory=IngestSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    tune: TuneSettings = field(default_factory=TuneSettings)
    score: ScoreSettings = field(default_factory=ScoreSettings)
    evaluate: EvaluateSettings = field(default_factory=EvaluateSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)
    warehouse: WarehouseSettings = field(default_factory=WarehouseSettings)
    airflow: AirflowSettings = field(default_factory=AirflowSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    monitoring: MonitoringSettings = field(default_factory=MonitoringSettings)
    #: Tonight's placements, the default first (``[placements.*]``; a trigger's ``placements`` picks some).
    placements: tuple[Placement, ...] = (Placement(),)

    @property
    def layout(self) -> OutputLayout:
        """Every path under outputs/ (``jobs.layout``)."""
        return OutputLayout(self.outputs_dir)

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some fields of some sections replaced, e.g. ``score={"top_n": 10}``."""
        changed = {name: replace(getattr(self, name), **values) for name, values in sections.items() if values}
        return replace(self, **changed)

    def placement(self, name: str) -> Placement:
        for placement in self.placements:
            if placement.name == name:
                return placement
        raise KeyError(f"no placement {name!r}; configured: {', '.join(p.name for p in self.placements)}")

    def with_placements(self, names: list[str] | tuple[str, ...] | None, diversity: float | None = None) -> Settings:
        """A copy scoring only the default placement and ``names`` (None: every configured one), each with
        ``diversity`` instead of its own when given (a trigger's override)."""
        chosen = list(self.placements)
        if names is not None:
            unknown = sorted(set(names) - {p.name for p in chosen})
            if unknown:
                raise ValueError(f"unknown placement(s) {', '.join(unknown)}; configured: "
                                 f"{', '.join(p.name for p in chosen)}")
            chosen = [p for p in chosen if p.name == DEFAULT_PLACEMENT or p.name in names]
        if diversity is not None:
            chosen = [replace(p, diversity=float(diversity)) for p in chosen]
        return replace(self, placements=tuple(chosen))

    def with_params(self, params: dict[str, Any] | None) -> Settings:
        """A copy with a trigger's (or the CLI's) overrides applied: top_n, shards, models, holdout_scope,
        holdout_stratify, trials, minutes, placements, diversity.

        Absent or None values keep the configured ones, so a DAG trigger form and ``recs run`` share this.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        score = {k: int(params[k]) for k in ("top_n", "shards") if k in params}
        train = {"models": tuple(params["models"])} if params.get("models") else {}
        train |= {k: str(params[k]) for k in ("holdout_scope", "holdout_stratify") if params.get(k)}
        tune = {"trials": int(params["trials"])} if "trials" in params else {}
        if "minutes" in params:
            tune["minutes"] = float(params["minutes"])
        changed = self.with_overrides(score=score, train=train, tune=tune)
        if "placements" in params or "diversity" in params:
            changed = changed.with_placements(params.get("placements"), params.get("diversity"))
        return changed


def _section(cls: type, raw: dict[str, Any], source: Path, name: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ValueError(f"{source}: unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    return cls(**values)


def load_settings(home: str | os.PathLike[str] | None = None, config: str | os.PathLike[str] | None = None) -> Settings:
    """Settings for RECS_HOME (argument, env, or the project root) from the config file (argument, RECS_CONFIG, recs.toml)."""
    home_path = Path(home or os.environ.get("RECS_HOME") or PROJECT_ROOT).resolve()
    config_path = Path(config or os.environ.get("RECS_CONFIG") or DEFAULT_CONFIG)
    raw: dict[str, Any] = {}
    if config_path.exists():
        with config_path.open("rb") as fh:
            raw = tomllib.load(fh)
    elif config is not None or os.environ.get("RECS_CONFIG"):
        raise FileNotFoundError(f"config file not found: {config_path}")
    unknown = set(raw) - set(SECTIONS) - {"paths", "placements"}
    if unknown:
        raise ValueError(f"{config_path}: unknown section(s): {', '.join(sorted(unknown))}")
    for variable, (section, key) in ENV_OVERRIDES.items():
        if os.environ.get(variable):
            raw.setdefault(section, {})[key] = os.environ[variable]
    paths = raw.get("paths", {})
    return Settings(
        home=home_path,
        landing_dir=(home_path / paths.get("landing", "landing")).resolve(),
        outputs_dir=(home_path / paths.get("outputs", "outputs")).resolve(),
        placements=_placements(raw.get("placements", {}), config_path),
        **{name: _section(cls, raw.get(name, {}), config_path, name) for name, cls in SECTIONS.items()},
    )


def _placements(raw: dict[str, Any], source: Path) -> tuple[Placement, ...]:
    """``[placements.<name>]`` tables as Placements, the default first (configured or not)."""
    found = {DEFAULT_PLACEMENT: Placement()}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ValueError(f"{source}: [placements] holds tables, [placements.<name>]; {name!r} is not one")
        found[name] = _section(Placement, {**table, "name": name}, source, f"placements.{name}")
    default = found.pop(DEFAULT_PLACEMENT)
    return (default, *found.values())


def holdout_params(settings: Settings) -> dict[str, dict[str, Any]]:
    """The trigger-form fields (Airflow ``Param`` arguments) that pick the holdout protocol: one definition for
    both DAGs, defaulting to ``settings``."""
    from models.splits import SCOPES, STRATA

    return {
        "holdout_scope": {
            "default": settings.train.holdout_scope, "type": "string", "enum": list(SCOPES), "title": "Holdout protocol",
            "description": "What judges the models: 'global' (the latest ratings of all: forecasting tomorrow), 'user' "
                           "(each user's latest: users who rate in bursts), 'random' (a seeded random fraction: a "
                           "downstream random split, or timestamps without order).",
            "section": "Validation",
        },
        "holdout_stratify": {
            "default": settings.train.holdout_stratify, "type": "string", "enum": list(STRATA),
            "title": "Random holdout stratified by",
            "description": "For 'random': a fraction of each user's, or each item's, interactions.",
            "section": "Validation",
        },
    }
