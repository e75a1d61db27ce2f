"""The Recommendations view in the Airflow UI (Airflow 3's ``fastapi_apps`` and ``external_views``).

A thin registration: the app is ``jobs.ui.app`` (every route behind Airflow's own login: ``jobs.ui.auth``), shown
in the navigation ("Recommendations") and as a tab on every DAG run's page, which shows that run's nights when the
run is a recs_nightly one. Airflow finds this file through ``AIRFLOW__CORE__PLUGINS_FOLDER`` (the Makefile and
docker-compose.yml point it here).
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from jobs.ui.app import build_app
from jobs.ui.auth import airflow_access

#: Where the app is mounted in Airflow's API server; the views' hrefs are relative to the UI's base URL.
URL_PREFIX = "/recs"


class RecsPlugin(AirflowPlugin):
    name = "recs"
    fastapi_apps = [{"app": build_app(auth_dependency=airflow_access()), "url_prefix": URL_PREFIX,
                     "name": "Recommendations"}]
    external_views = [
        {"name": "Recommendations", "href": "recs/", "destination": "nav", "url_route": "recommendations",
         "nav_top_level": True, "icon": "recs/icon.svg"},
        {"name": "Recommendations", "href": "recs/runs/{RUN_ID}?dag_id={DAG_ID}", "destination": "dag_run",
         "url_route": "recommendations-run"},
    ]
