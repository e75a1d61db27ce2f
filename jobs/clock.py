"""Time as the warehouse stores it: naive UTC.

``utcnow`` is for audit columns only (started_at, ingested_at, published_at): never a key or a data cut-off,
which come from the data interval or the data. Airflow hands out aware datetimes; ``naive_utc`` converts them.
"""

from __future__ import annotations

from datetime import UTC, datetime


def naive_utc(moment: datetime) -> datetime:
    """``moment`` in UTC without tzinfo (a naive one is taken to be UTC already)."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def utcnow() -> datetime:
    """Wall-clock time for audit columns only."""
    return datetime.now(UTC).replace(tzinfo=None)
