"""``airflow dags test DAG_ID LOGICAL_DATE [options]``, with the run's start recorded as the moment it starts.

Airflow 3.3's ``dags test`` records the DagRun's ``start_date`` as its logical date (``DAG.test`` passes
``start_date=logical_date or run_after``; apache/airflow#66127, open). ``make demo`` processes the sample's last day
(logical date 2026-11-21, data interval [2026-11-20, 2026-11-21)), so every demo run was recorded as lasting from
2026-11-21 00:00 until it ended, days later, and the UI's run durations and charts were skewed by it. This runs the
same command in this process with only that changed, as the proposed upstream fix does: the run's logical date,
data interval and run id are the CLI's, its ``start_date`` is now (so is its ``run_after``, as before).

    .venv/bin/python -m jobs.dagtest recs_nightly 2026-11-21 [--conf '{...}']
"""

from __future__ import annotations

import sys


def _started_now(create):
    def get_or_create_dagrun(**kwargs):
        from airflow.sdk import timezone

        kwargs["start_date"] = timezone.utcnow()
        return create(**kwargs)

    return get_or_create_dagrun


def main(argv: list[str] | None = None) -> None:
    import airflow.models.dagrun as dagrun
    from airflow.__main__ import main as airflow

    # DAG.test imports it from airflow.models.dagrun when called, so the module attribute is what it gets.
    dagrun.get_or_create_dagrun = _started_now(dagrun.get_or_create_dagrun)
    sys.argv = ["airflow", "dags", "test", *(sys.argv[1:] if argv is None else argv)]
    airflow()


if __name__ == "__main__":
    main()
