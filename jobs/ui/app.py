"""The Recommendations view: a FastAPI app the Airflow plugin (``plugins/recs_plugin.py``) mounts at ``/recs``.

    GET /                     quality, decisions, ingest, steps and drift across every published night
    GET /runs/{run_id}        the same, for the nights up to that run (the tab on a recs_nightly run's page)
    GET /users/{user_id}      a user's published list, latest ratings and what explains each item
                              (or ``?user=ID[&placement=NAME]`` on either page above)
    GET /api/...              the read API of ``recs serve`` (jobs/api), when it is installed

Every route sits behind ``auth_dependency`` (the plugin passes Airflow's, ``jobs.ui.auth.airflow_access``). Pages
read only the published version (``jobs.serving.open_published``) and, for a user's ratings, the serving run's
snapshot files (``jobs.ui.data``). Links are relative to where the app is mounted, so it works behind a prefix.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from html import escape
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from jobs.config import Settings, load_settings
from jobs.serving import NotPublished, open_published
from jobs.ui import html
from jobs.ui.auth import DAG_ID
from jobs.ui.data import History, lookup_user, read_history

log = logging.getLogger("recs.ui")
#: Runs listed in the page's navigation, newest first.
NAV_RUNS = 15
#: The navigation entry's icon: a line chart.
ICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#4a5568" stroke-width="2" '
        'stroke-linecap="round" stroke-linejoin="round"><path d="M3 3v18h18"/><path d="m7 15 4-4 3 3 6-6"/></svg>')


def _header(base: str, history: History, run_id: str | None) -> str:
    title = "Recommendations" + (f" — up to run {run_id}" if run_id else "")
    links = [f'<a href="{base}/">latest</a>'] + [
        f'<a href="{base}/runs/{quote(r, safe="")}">{escape(label)}</a>'
        for r, label in list(zip(history.run_ids, history.labels))[::-1][:NAV_RUNS]]
    published = (f"Published version: run <b>{escape(history.published_run)}</b>."
                 if history.published_run else "Nothing published yet.")
    return f"<h1>{escape(title)}</h1><p>{published}</p><nav>Runs: {' '.join(links)}</nav>"


def render(settings: Settings, base: str, run_id: str | None = None, user_id: str | None = None,
           placement: str | None = None) -> tuple[int, str]:
    """(status, page) for the view; ``base`` is the path the app is mounted at."""
    try:
        con = open_published(settings.layout.serving)
    except NotPublished as exc:
        return 200, html.document("Recommendations", ["<h1>Recommendations</h1>", f"<p>{escape(str(exc))}</p>"])
    try:
        history = read_history(con, run_id)
        if run_id is not None and history.run(run_id) is None:
            body = [f"<h1>Recommendations</h1><p>Run {escape(run_id)} is not in the published version's runs "
                    f"(only runs of the {DAG_ID} DAG and <code>recs run</code> are). "
                    f'<a href="{base}/">The latest runs</a>.</p>']
            return 404, html.document("Recommendations", body)
        body = [_header(base, history, run_id), html.user_form(user_id, placement)]
        if user_id:
            body.append(html.user_section(lookup_user(con, settings.layout.run, user_id, placement or None)))
        body += html.history_sections(history)
    finally:
        con.close()
    return 200, html.document("Recommendations", body)


def _mount_read_api(app: FastAPI, settings: Callable[[], Settings]) -> None:
    """The read API's routes under /api, behind the app's dependencies (jobs.api, when it is there)."""
    try:
        from jobs.api.reader import PublishedReader
        from jobs.api.routes import build_router
    except ImportError:
        log.info("jobs.api is not installed: no /api routes in the Recommendations view")
        return
    app.include_router(build_router(PublishedReader.for_settings(settings())), prefix="/api")


def build_app(settings: Settings | None = None, auth_dependency: Callable[..., object] | None = None) -> FastAPI:
    """The view's app; every route depends on ``auth_dependency`` when given. ``settings`` default to the
    environment's (RECS_HOME), loaded on first use."""
    get_settings = (lambda: settings) if settings is not None else functools.cache(load_settings)
    app = FastAPI(title="Recommendations", description=__doc__, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(auth_dependency)] if auth_dependency is not None else [])

    def base(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/")

    @app.get("/", response_class=HTMLResponse)
    def latest(request: Request, user: str | None = None, placement: str | None = None) -> HTMLResponse:
        status, page = render(get_settings(), base(request), None, user, placement)
        return HTMLResponse(page, status_code=status)

    @app.get("/runs/{run_id}", response_class=HTMLResponse)
    def run_page(request: Request, run_id: str, user: str | None = None, placement: str | None = None,
                 dag_id: str | None = None) -> HTMLResponse:
        if dag_id is not None and dag_id != DAG_ID:
            page = html.document("Recommendations", [f"<p>The Recommendations view shows runs of {DAG_ID}, "
                                                     f"not of {escape(dag_id)}.</p>"])
            return HTMLResponse(page)
        status, page = render(get_settings(), base(request), run_id, user, placement)
        return HTMLResponse(page, status_code=status)

    @app.get("/users/{user_id}", response_class=HTMLResponse)
    def user_page(request: Request, user_id: str, placement: str | None = None) -> HTMLResponse:
        status, page = render(get_settings(), base(request), None, user_id, placement)
        return HTMLResponse(page, status_code=status)

    @app.get("/icon.svg", include_in_schema=False)
    def icon() -> Response:
        return Response(ICON, media_type="image/svg+xml", headers={"Cache-Control": "private, max-age=86400"})

    _mount_read_api(app, get_settings)
    return app
