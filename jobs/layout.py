"""Every path under ``outputs/``: the one module that knows the layout; everything else asks it.

``OutputLayout`` is the install's tree (``settings.layout``); ``RunFiles`` is one run's working folder
(``settings.layout.run(key)``), also used for the tuning snapshot, which has the same shape. ``DOCUMENTED``
lists each path as ``outputs/README.md`` shows it, and a test holds the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Every path this module hands out, as outputs/README.md names it (``<run>`` = a run key, ``<model>`` ...).
DOCUMENTED = (
    "warehouse.duckdb",
    "recs.duckdb",
    "current.json",
    ".publish.lock",
    ".run.lock",
    "versions/recs-<run>.duckdb",
    "versions/recs-<run>.duckdb.sha256",
    "versions/recs-<run>.duckdb.unchecked",
    "parquet/<table>/run_date=YYYY-MM-DD/part-0.parquet",
    "parquet/<table>/<table>.parquet",
    "parquet/_published.json",
    ".parquet-<run>/",
    "runs/<run>/snapshot/",
    "runs/<run>/popular_items.parquet",
    "runs/<run>/metrics/<model>.json",
    "runs/<run>/metrics/<model>.users.parquet",
    "runs/<run>/models/<model>.pkl",
    "runs/<run>/scores/part-<shard>.parquet",
    "runs/<run>/scores/placements/<placement>-part-<shard>.parquet",
    "runs/<run>/similar/<method>.parquet",
    "runs/<run>/steps/<step>.json",
    "reports/<run>.md",
    "reports/<run>.html",
    "screenshots/<name>.png",
    "tuning/snapshot/",
    "tuning/<model>.best.json",
    "optuna/journal.log",
)


@dataclass(frozen=True)
class RunFiles:
    """One run's working folder ``runs/<run>/``: its snapshot, metrics, artifacts, score shards and similar items."""

    root: Path

    @property
    def snapshot(self) -> Path:
        return self.root / "snapshot"

    def snapshot_file(self, name: str) -> Path:
        """``interactions``, ``users``, ``items``, ``exclusions`` or ``promotions``."""
        return self.snapshot / f"{name}.parquet"

    @property
    def popular_items(self) -> Path:
        return self.root / "popular_items.parquet"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics"

    def metrics_file(self, model: str) -> Path:
        return self.metrics / f"{model}.json"

    def per_user_file(self, model: str) -> Path:
        return self.metrics / f"{model}.users.parquet"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def artifact(self, model: str) -> Path:
        return self.models / f"{model}.pkl"

    def holdout_artifact(self, key: str) -> Path:
        """Candidate ``key`` fitted on the holdout's training part, kept for a warm refit (``Recommender.refit``)."""
        return self.models / "holdout" / f"{key}.pkl"

    @property
    def holdout_item_vectors(self) -> Path:
        """The holdout training matrix's item embeddings, shared by the run's candidates (``candidates.evaluate``)."""
        return self.models / "holdout" / "item_vectors.npy"

    @property
    def scores(self) -> Path:
        return self.root / "scores"

    def score_part(self, shard: int) -> Path:
        return self.scores / f"part-{shard:05d}.parquet"

    @property
    def score_parts_glob(self) -> str:
        return str(self.scores / "part-*.parquet")

    def placement_part(self, placement: str, shard: int) -> Path:
        """A named placement's lists for one shard (the default placement's are ``score_part``)."""
        return self.scores / "placements" / f"{placement}-part-{shard:05d}.parquet"

    @property
    def placement_parts_glob(self) -> str:
        return str(self.scores / "placements" / "*-part-*.parquet")

    @property
    def similar(self) -> Path:
        return self.root / "similar"

    def similar_file(self, method: str) -> Path:
        return self.similar / f"{method}.parquet"

    @property
    def steps(self) -> Path:
        return self.root / "steps"

    def step_file(self, step: str, label: str | None = None) -> Path:
        """The timing record of one step (``<step>-<label>.json`` for a mapped one: shard, model)."""
        return self.steps / (f"{step}-{label}.json" if label else f"{step}.json")

    #: Folders a step rewrites from scratch when a run is started again (the snapshot is frozen anew).
    RESTARTED = ("scores", "similar", "metrics", "models", "steps")


@dataclass(frozen=True)
class OutputLayout:
    """The tree under ``outputs/`` (``root``), as documented in outputs/README.md."""

    root: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        return self.root / "recs.duckdb"

    @property
    def current_pointer(self) -> Path:
        """JSON naming the version that ``recs.duckdb`` is now."""
        return self.root / "current.json"

    @property
    def publish_lock(self) -> Path:
        return self.root / ".publish.lock"

    @property
    def run_lock(self) -> Path:
        """Who runs on this home now (``jobs.runlock``): one run at a time."""
        return self.root / ".run.lock"

    @property
    def versions(self) -> Path:
        return self.root / "versions"

    def version(self, key: str) -> Path:
        return self.versions / f"recs-{key}.duckdb"

    def version_checksum(self, key: str) -> Path:
        """The sha256 of a version, recorded when its checks passed; publish and rollback verify it."""
        return self.versions / f"recs-{key}.duckdb.sha256"

    def unchecked_version(self, key: str) -> Path:
        return self.versions / f"recs-{key}.duckdb.unchecked"

    @staticmethod
    def version_key(version: Path) -> str:
        """The run key a version file was published under."""
        return version.name.removeprefix("recs-").removesuffix(".duckdb")

    @property
    def parquet(self) -> Path:
        return self.root / "parquet"

    def parquet_partition(self, table: str, run_date: str) -> Path:
        return self.parquet / table / f"run_date={run_date}"

    def parquet_whole(self, table: str) -> Path:
        return self.parquet / table / f"{table}.parquet"

    @property
    def parquet_marker(self) -> Path:
        """Names the run whose Parquet tables are all in place (written last by a publish)."""
        return self.parquet / "_published.json"

    def parquet_staging(self, key: str) -> Path:
        """The next parquet/ tree while a publish builds it (then swapped in with one rename)."""
        return self.root / f".parquet-{key}"

    @property
    def runs(self) -> Path:
        return self.root / "runs"

    def run(self, key: str) -> RunFiles:
        return RunFiles(self.runs / key)

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def report(self, key: str) -> Path:
        return self.reports / f"{key}.md"

    def report_html(self, key: str) -> Path:
        """The run's report with plots, self-contained (inline SVG and CSS), beside the markdown one."""
        return self.reports / f"{key}.html"

    @property
    def screenshots(self) -> Path:
        """Screenshots of the Recommendations view that tests/e2e/test_browser.py takes (``<name>.png``)."""
        return self.root / "screenshots"

    @property
    def tuning(self) -> RunFiles:
        """The tuning snapshot lives in ``tuning/snapshot/``, shaped like a run's."""
        return RunFiles(self.root / "tuning")

    def best_params(self, model: str) -> Path:
        """Where tuning leaves a model's best params (read by every nightly run)."""
        return self.root / "tuning" / f"{model}.best.json"

    @property
    def optuna_journal(self) -> Path:
        return self.root / "optuna" / "journal.log"
