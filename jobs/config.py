"""Settings: recs.toml defaults, overridden by RECS_CONFIG, rooted at RECS_HOME.

One frozen object is built per process (``load_settings``) and passed down; nothing else reads the
environment, so tests can build settings for a temporary RECS_HOME without touching globals.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "recs.toml"
SQL_DIR = PROJECT_ROOT / "sql"


@dataclass(frozen=True)
class IngestSettings:
    user_column: str = "user_id"
    item_column: str = "item_id"
    rating_column: str = "rating"
    timestamp_column: str = "timestamp"
    rating_min: float = 0.5
    rating_max: float = 5.0
    future_tolerance_hours: float = 24.0


@dataclass(frozen=True)
class TrainSettings:
    models: tuple[str, ...] = ("popularity", "ease")
    holdout_fraction: float = 0.1
    #: "global": the most recent fraction of all interactions; "user": each user's most recent fraction.
    holdout_scope: str = "global"
    #: Rolling-origin windows before the holdout's that the tuning objective averages (jobs.tune.tuning_splits).
    tuning_folds: int = 3
    #: Tuning replaces the kept params only when the best trial's per-user gain over them, on the tuning
    #: windows, exceeds this many standard errors (jobs.tune.adopt_or_keep); 0 always takes the best trial.
    tuning_min_gain_se: float = 2.0
    champion_metric: str = "ndcg@10"
    gate_tolerance: float = 0.02
    seed: int = 42


@dataclass(frozen=True)
class ScoreSettings:
    top_n: int = 20
    #: Memory for one chunk of users' scores and work buffers, in MiB: sets the users per chunk.
    memory_budget_mb: int = 512
    #: Users per chunk; 0 derives it from memory_budget_mb and the number of items (models.topk.chunk_users_for).
    chunk_users: int = 0
    shards: int = 1
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
class Settings:
    home: Path
    landing_dir: Path
    outputs_dir: Path
    ingest: IngestSettings = field(default_factory=IngestSettings)
    train: TrainSettings = field(default_factory=TrainSettings)
    score: ScoreSettings = field(default_factory=ScoreSettings)
    evaluate: EvaluateSettings = field(default_factory=EvaluateSettings)
    publish: PublishSettings = field(default_factory=PublishSettings)

    # The fixed file layout under outputs/ (documented in outputs/README.md).
    @property
    def warehouse_path(self) -> Path:
        return self.outputs_dir / "warehouse.duckdb"

    @property
    def serving_path(self) -> Path:
        return self.outputs_dir / "recs.duckdb"

    @property
    def versions_dir(self) -> Path:
        return self.outputs_dir / "versions"

    @property
    def parquet_dir(self) -> Path:
        return self.outputs_dir / "parquet"

    @property
    def reports_dir(self) -> Path:
        return self.outputs_dir / "reports"

    @property
    def optuna_dir(self) -> Path:
        return self.outputs_dir / "optuna"

    def run_dir(self, run_id: str) -> Path:
        return self.outputs_dir / "runs" / run_id

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some fields of some sections replaced, e.g. ``score={"top_n": 10}``."""
        changed = {name: replace(getattr(self, name), **values) for name, values in sections.items() if values}
        return replace(self, **changed)


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
    paths = raw.get("paths", {})
    sections = {
        "ingest": IngestSettings,
        "train": TrainSettings,
        "score": ScoreSettings,
        "evaluate": EvaluateSettings,
        "publish": PublishSettings,
    }
    unknown = set(raw) - set(sections) - {"paths"}
    if unknown:
        raise ValueError(f"{config_path}: unknown section(s): {', '.join(sorted(unknown))}")
    return Settings(
        home=home_path,
        landing_dir=(home_path / paths.get("landing", "landing")).resolve(),
        outputs_dir=(home_path / paths.get("outputs", "outputs")).resolve(),
        **{name: _section(cls, raw.get(name, {}), config_path, name) for name, cls in sections.items()},
    )
