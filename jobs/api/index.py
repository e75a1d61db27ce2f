"""One published version in memory, ready to answer from: immutable, built whole before anyone reads it.

Every list (a user's recommendations, a placement's list, an item's similar items, the popular items) is kept as
the JSON of its items, already serialised by DuckDB and joined by ``,``, with the byte offset where each rank
ends (``sql/serving/api/*.sql``). Answering ``?top=N`` is one slice and two concatenations; nothing is encoded
per request. The index is read from one read-only, locked-down connection (``jobs.serving.open_published``),
so all of it comes from one file, hence one version, and its ``run_id`` is the one that file's lists carry.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from jobs.config import DEFAULT_PLACEMENT
from jobs.publish.release import TABLES
from jobs.serving import open_published
from jobs.sql import q_identifier, run_sql

#: A serialised list: the items' JSON objects joined by ',', and the end offset of each rank's object.
Ranked = tuple[bytes, tuple[int, ...]]
EMPTY: Ranked = (b"", ())


def head(ranked: Ranked, top: int) -> bytes:
    """The JSON of the first ``top`` items of a list (all of them when it is shorter)."""
    body, ends = ranked
    return body[: ends[min(top, len(ends)) - 1]] if ends else b""


@dataclass(frozen=True)
class Index:
    """What one published version answers; never changed after it is built (a new version is a new Index)."""

    run_id: str
    run_date: str | None
    champion_model: str | None
    #: From ``current.json`` when it names this version's run (it is written just after the file is renamed).
    published_at: str | None
    counts: dict[str, int]
    #: The default placement (``recommendations``) by user.
    recommendations: dict[str, Ranked]
    #: Named placements (``placement_recommendations``): placement -> user -> list.
    placements: dict[str, dict[str, Ranked]]
    #: Fallback lists for users a placement has no list for ("default" included), items with "promoted": false.
    fallbacks: dict[str, Ranked]
    popular: Ranked
    #: item -> method -> its similar items; ``methods`` in the order a request without ``method`` tries them.
    similar: dict[str, dict[str, Ranked]]
    methods: tuple[str, ...]
    prefix: bytes = field(init=False, repr=False)
    fallback_prefix: bytes = field(init=False, repr=False)
    health: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        run = json.dumps(self.run_id).encode()
        object.__setattr__(self, "prefix", b'{"run_id":' + run + b',"fallback":false,"items":[')
        object.__setattr__(self, "fallback_prefix", b'{"run_id":' + run + b',"fallback":true,"items":[')
        object.__setattr__(self, "health", json.dumps({
            "status": "ok", "run_id": self.run_id, "published_at": self.published_at, "run_date": self.run_date,
            "champion_model": self.champion_model, "tables": self.counts,
            "placements": [DEFAULT_PLACEMENT, *sorted(self.placements)], "similar_methods": list(self.methods),
        }, separators=(",", ":")).encode())

    def body(self, ranked: Ranked, top: int, fallback: bool = False) -> bytes:
        """The response ``{"run_id": ..., "fallback": ..., "items": [...]}`` for a list's first ``top`` items."""
        return (self.fallback_prefix if fallback else self.prefix) + head(ranked, top) + b"]}"

    def with_published_at(self, published_at: str | None) -> Index:
        """The same version with the publish time ``current.json`` gives it (the data are shared, not copied)."""
        return replace(self, published_at=published_at)

    @property
    def placement_names(self) -> list[str]:
        return [DEFAULT_PLACEMENT, *sorted(self.placements)]


def _lists(rows: list[tuple[Any, ...]]) -> list[tuple[tuple[Any, ...], Ranked]]:
    """(key columns, Ranked) for rows of (key..., body, ends)."""
    return [(row[:-2], (row[-2].encode(), tuple(row[-1]))) for row in rows]


def published_at_for(pointer: Path, run_id: str) -> str | None:
    """``current.json``'s publish time when it names ``run_id``; None when it is missing, unreadable or still
    names the previous run."""
    with contextlib.suppress(OSError, ValueError):
        now = json.loads(pointer.read_text())
        if isinstance(now, dict) and now.get("run_id") == run_id:
            return now.get("published_at")
    return None


def load_index(serving: Path, pointer: Path) -> Index:
    """Read the published file at ``serving`` into a new Index (raises ``NotPublished``, ``OSError`` or
    ``duckdb.Error`` when it cannot be read; the caller keeps what it had)."""
    with contextlib.closing(open_published(serving)) as con:
        version = run_sql(con, "serving/api/version").fetchone()
        if version is None:
            raise ValueError(f"{serving} holds no published lists")
        run_id, run_date, champion, named = version
        present = {row[0] for row in run_sql(con, "serving/api/tables").fetchall()}
        order = [*[t for t in TABLES if t in present], *sorted(present - set(TABLES))]  # a newer file may have more
        counts = {table: run_sql(con, "serving/api/count_rows", table=q_identifier(table)).fetchone()[0]
                  for table in order}
        recommendations = {key[0]: ranked for key, ranked in _lists(run_sql(con, "serving/api/recommendation_lists").fetchall())}
        placements: dict[str, dict[str, Ranked]] = {name: {} for name in named or () if name != DEFAULT_PLACEMENT}
        for (placement, user), ranked in _lists(run_sql(con, "serving/api/placement_lists").fetchall()):
            placements.setdefault(placement, {})[user] = ranked
        popular = {key[0]: ranked for key, ranked in _lists(run_sql(con, "serving/api/popular_lists").fetchall())}
        similar: dict[str, dict[str, Ranked]] = {}
        for (item, method), ranked in _lists(run_sql(con, "serving/api/similar_lists").fetchall()):
            similar.setdefault(item, {})[method] = ranked
    methods = sorted({method for by_method in similar.values() for method in by_method}, key=lambda m: (m != champion, m))
    return Index(
        run_id=run_id, run_date=run_date.isoformat() if run_date else None, champion_model=champion,
        published_at=published_at_for(pointer, run_id), counts=counts, recommendations=recommendations,
        placements=placements, fallbacks={name: popular.get(name, EMPTY) for name in [DEFAULT_PLACEMENT, *placements]},
        popular=popular.get("", EMPTY), similar=similar, methods=tuple(methods),
    )
