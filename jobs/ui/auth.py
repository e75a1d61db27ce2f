"""Who may open the Recommendations view: whoever Airflow lets read the recs_nightly DAG's runs.

Airflow does not protect a plugin's FastAPI app; this dependency, applied to the whole app, does it with
Airflow's own check (``airflow.api_fastapi.core_api.security.requires_access_dag``): the JWT from the
``Authorization: Bearer`` header (``POST /auth/token``) or from the ``_token`` cookie the Airflow UI sets at
login is validated by the configured auth manager, which must then allow GET on the DAG's runs. No credential,
or an expired one: 401; an invalid token, or a user without access: 403.
"""

from __future__ import annotations

from collections.abc import Callable

#: The DAG whose results the view shows: reading them needs read access to its runs.
DAG_ID = "recs_nightly"


def airflow_access() -> Callable[..., None]:
    """The FastAPI dependency (pass it to ``Depends``) that admits only users Airflow lets read DAG_ID's runs."""
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return requires_access_dag("GET", DagAccessEntity.RUN, param_dag_id=DAG_ID)
