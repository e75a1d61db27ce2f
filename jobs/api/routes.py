"""The read API's routes, over a ``PublishedReader``: mountable by any FastAPI app (``build_router``), or served
alone (``build_app``, what ``recs serve`` runs).

    GET /recommendations/{user_id}?top=N[&placement=NAME]   a user's list; unknown user: the popular items
    GET /similar/{item_id}?top=N[&method=NAME]              an item's similar items
    GET /popular?top=N                                      the popular items
    GET /health                                             the version served: run, day, publish time, row counts

Lists answer ``{"run_id": ..., "fallback": false, "items": [{"item_id": ..., "rank": 1, "score": ...}, ...]}``
(recommendations add ``promoted`` per item, similar items ``method``); every answer from a version carries its
``run_id``. Bad input is a 4xx with a ``detail`` that says what was wrong, never a 500: ``top`` outside
1..max_top is a 422, an unknown placement, item or method a 404; nothing published yet is a 503.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import JSONResponse, Response

from jobs.api.index import Index
from jobs.api.reader import NothingPublished, PublishedReader
from jobs.config import DEFAULT_PLACEMENT, Settings

JSON = "application/json"
_EXAMPLE = {"run_id": "cli__2026-11-20", "fallback": False,
            "items": [{"item_id": "17", "rank": 1, "score": 0.93, "promoted": False}]}
_LIST = {200: {"description": "the list, from one published version", "content": {JSON: {"example": _EXAMPLE}}},
         404: {"description": "unknown placement, item or method (with the version's run_id)"},
         503: {"description": "nothing published yet"}}


def _missing(index: Index, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "run_id": index.run_id}, status_code=404)


def _unavailable(exc: NothingPublished) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "run_id": None}, status_code=503, headers={"Retry-After": "60"})


def build_router(reader: PublishedReader) -> APIRouter:
    """The API's routes over ``reader`` (``top`` bounded by ``reader.max_top``); mount it under any prefix."""
    max_top = reader.max_top
    top_query = Query(min(10, max_top), ge=1, le=max_top, description=f"how many items, 1 to {max_top}")
    router = APIRouter(tags=["recommendations"])

    @router.get("/recommendations/{user_id}", response_class=Response, responses=_LIST,
                summary="a user's published recommendations")
    async def recommendations(user_id: str, top: int = top_query,
                              placement: str = Query(DEFAULT_PLACEMENT, description="a named placement")) -> Response:
        try:
            index = await reader.get()
        except NothingPublished as exc:
            return _unavailable(exc)
        if placement == DEFAULT_PLACEMENT:
            lists = index.recommendations
        else:
            lists = index.placements.get(placement)
            if lists is None:
                return _missing(index, f"no placement {placement!r} in the published version (run {index.run_id}); "
                                       f"it has: {', '.join(index.placement_names)}")
        ranked = lists.get(user_id)
        if ranked is None:
            return Response(index.body(index.fallbacks[placement], top, fallback=True), media_type=JSON)
        return Response(index.body(ranked, top), media_type=JSON)

    @router.get("/similar/{item_id}", response_class=Response, responses=_LIST, summary="an item's similar items")
    async def similar(item_id: str, top: int = top_query,
                      method: str | None = Query(None, description="a similarity method (default: the champion "
                                                                       "model's where the item has it)")) -> Response:
        try:
            index = await reader.get()
        except NothingPublished as exc:
            return _unavailable(exc)
        if method is not None and method not in index.methods:
            return _missing(index, f"no similar-items method {method!r} in the published version (run "
                                   f"{index.run_id}); it has: {', '.join(index.methods) or 'none'}")
        by_method = index.similar.get(item_id)
        if by_method is None:
            return _missing(index, f"no similar items for item {item_id!r} in the published version (run "
                                   f"{index.run_id}): an unknown item, or one no method covers")
        chosen = method or next(m for m in index.methods if m in by_method)
        if chosen not in by_method:
            return _missing(index, f"item {item_id!r} has no similar items by {chosen!r} (run {index.run_id}); "
                                   f"it has: {', '.join(m for m in index.methods if m in by_method)}")
        return Response(index.body(by_method[chosen], top), media_type=JSON)

    @router.get("/popular", response_class=Response, responses=_LIST, summary="the popular items")
    async def popular(top: int = top_query) -> Response:
        try:
            index = await reader.get()
        except NothingPublished as exc:
            return _unavailable(exc)
        return Response(index.body(index.popular, top), media_type=JSON)

    @router.get("/health", response_class=Response, summary="the version served",
                responses={503: {"description": "nothing published yet"}})
    async def health() -> Response:
        try:
            index = await reader.get()
        except NothingPublished as exc:
            return _unavailable(exc)
        return Response(index.health, media_type=JSON)

    return router


def build_app(settings: Settings, auth_dependency: Callable[..., Any] | None = None,
              reader: PublishedReader | None = None) -> FastAPI:
    """The standalone API over ``settings``' published version; ``auth_dependency`` (when given) guards every
    route. The version is loaded at startup, so the first requests do not wait for it."""
    reader = reader or PublishedReader.for_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        await anyio.to_thread.run_sync(reader.refresh)
        yield

    app = FastAPI(title="recs read API", version="1", lifespan=lifespan,
                  description="The published recommendations of one install (README: 'Serving over HTTP').")
    app.state.reader = reader
    app.include_router(build_router(reader), dependencies=[Depends(auth_dependency)] if auth_dependency else None)
    return app
