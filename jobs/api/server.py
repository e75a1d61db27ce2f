"""Run the standalone API with uvicorn (``recs serve``): one process, one event loop, tuned for throughput.

uvloop and httptools when installed (they come with Airflow's ``uvicorn[standard]``), no access log (a log line
per request costs more than answering it), no ``Server`` header. The published version is loaded before the
port opens; a publish while serving switches it in the background (``jobs.api.reader``).
"""

from __future__ import annotations

import gc
import importlib.util
import logging

from jobs.api.auth import auth_for
from jobs.api.routes import build_app
from jobs.config import Settings

log = logging.getLogger("recs.api")


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def uvicorn_options(host: str, port: int) -> dict:
    """uvicorn.run's settings for this server."""
    return {"host": host, "port": port, "loop": "uvloop" if _installed("uvloop") else "asyncio",
            "http": "httptools" if _installed("httptools") else "h11", "access_log": False, "server_header": False,
            "log_level": "info", "timeout_keep_alive": 30}


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8800, no_auth_localhost: bool = False) -> None:
    """Serve until interrupted; raises ``ServeRefused`` (before anything starts) for an unsafe setup."""
    import uvicorn  # imported before gc.freeze() below, with everything it loads

    auth = auth_for(settings, host, no_auth_localhost)
    app = build_app(settings, auth)
    app.state.reader.refresh()  # before the port opens (the app's startup then finds it loaded)
    gc.freeze()  # what is loaded now stays: the collector's full passes skip it, so they stall requests less
    log.info("recs serve on http://%s:%d (%s), published version: %s", host, port,
             "no authentication, this machine only" if auth is None else "bearer token required",
             settings.layout.serving)
    uvicorn.run(app, **uvicorn_options(host, port))
