"""The FastAPI application: ``create_app(settings)``. Routers are listed in :data:`ROUTERS`."""

from __future__ import annotations

import json
import re

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine

from api import access, docs, webapp
from api.db import make_engine, session_factory
from api.deps import denial, reject_unknown_query
from api.errors import COMMON_RESPONSES
from api.routes import consensus, exceptions, partners, reviews, scenarios, submissions, uploads, users
from api.routes import compare, forecast_runs, funding, jobs, plans  # helper J's routers
from api.routes import fva, health
from api.routes import history
from api.routes import auth
from api.routes import invoices
from api.routes import at_risk
from api.routes import integration
from api.routes import financing, financing_book
from api.settings import Settings, get_settings

ROUTERS = [
    auth.router,
    partners.router,
    users.router,
    uploads.router,
    history.router,
    submissions.router,
    exceptions.router,
    exceptions.scan_router,
    exceptions.facets_router,
    consensus.router,
    fva.router,
    scenarios.router,
    reviews.router,
    forecast_runs.router,
    plans.router,
    funding.router,
    at_risk.router,
    integration.router,
    compare.router,
    jobs.router,
    invoices.router,
    financing.router,
    financing_book.router,
]

DESCRIPTION = """
Collaborative planning for a supply chain's partners and their financiers.

**Authentication**: `Authorization: Bearer <token>`; tokens are created with `jointplan users create`
and `jointplan users token`. A browser signs in instead (`POST /auth/login` with a name and password):
its `jp_session` cookie is accepted on every route (a bearer token wins when both come), and its
POST, PUT, PATCH and DELETE requests must carry the session's `csrf_token` in `X-CSRF-Token` (403
otherwise). Failed sign-ins are rate-limited (429 with `Retry-After`). Roles: admin (users), planner (scenarios, plans, consensus), finance
(plans, funding, reviews), partner (its own data, submissions, exceptions that involve it and the
consensus of its items).

**Shared history**: every series has an owner (its first sharer, or as declared under `/history`);
only the owner's rows count, and an upload holding another partner's series is refused whole (409).
Corrections are new versions (`GET /history/lineage`); owners retract uploads (`POST /uploads/{id}/retract`).

**Limits**: request bodies up to `JOINTPLAN_MAX_BODY_BYTES` (default 20 MB; 413 above); uploads up to
`JOINTPLAN_MAX_UPLOAD_COLUMNS` columns (32; 422 above), `JOINTPLAN_MAX_UPLOAD_ROWS` rows (250,000) and
`JOINTPLAN_MAX_UPLOAD_CELLS` cells (2,500,000; 413 above); the shared history holds up to
`JOINTPLAN_MAX_HISTORY_POINTS` current points (2,000,000; an upload past it is 413); list pages
up to `JOINTPLAN_MAX_PAGE_SIZE` items (default 200; 422 above); horizons up to
`JOINTPLAN_MAX_HORIZON_PERIODS` periods (422 above).

**Errors**: `{"detail": ...}`; invalid input is 422 with one entry per field (`field`, `msg`).
A request is checked in this order: the token (401 with `WWW-Authenticate: Bearer` when missing,
unknown or revoked, or its user disabled), the role (403; also every user of a disabled partner),
then the input (422: unknown query parameters, JSON with `NaN`/`Infinity`, numbers out of range,
integers over 30 digits, nesting over 64 levels or NUL characters, each naming the field), then
the object (404 also for objects the caller may not see, before any state such as a queued job's 409).
"""


class BodySizeLimit:
    """ASGI middleware refusing bodies over ``max_bytes`` with 413 (by Content-Length, or while streaming)."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> JSONResponse:
        return JSONResponse(status_code=413, content={
            "detail": f"request body larger than the limit of {self.max_bytes} bytes (JOINTPLAN_MAX_BODY_BYTES)",
        })

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    size = int(value)
                except ValueError:
                    return await JSONResponse(status_code=400, content={"detail": "Content-Length: not a number"})(scope, receive, send)
                if size > self.max_bytes:
                    return await self._too_large()(scope, receive, send)
        received = 0
        state = {"too_large": False, "replaced": False, "started": False}

        async def limited_receive():
            message = await receive()
            if message["type"] == "http.request":
                nonlocal received
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    state["too_large"] = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message):
            # a body found too large while streaming: whatever the app answers becomes the 413
            if state["too_large"] and not state["started"]:
                if not state["replaced"]:
                    state["replaced"] = True
                    await self._too_large()(scope, receive, send)
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if state["too_large"] and not state["started"]:
                if not state["replaced"]:
                    await self._too_large()(scope, receive, send)
            else:
                raise


class _BodyTooLarge(Exception):
    pass


def _field(loc) -> str:
    return ".".join(str(p) for p in loc)


async def validation_error_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 naming every invalid field, to a caller who may call the route: without a valid
    token 401, with a role the route refuses 403 (:func:`api.deps.denial`), as if the input were valid."""
    from fastapi.exception_handlers import http_exception_handler
    from starlette.concurrency import run_in_threadpool

    refused = await run_in_threadpool(denial, request)
    if refused is not None:
        return await http_exception_handler(request, refused)
    errors = []
    for err in exc.errors():
        loc = [p if isinstance(p, (str, int)) else str(p) for p in err.get("loc", ())]
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        errors.append({"field": _field(loc) or "(request)", "loc": loc, "msg": msg, "type": str(err.get("type", "value_error"))})
    return JSONResponse(status_code=422, content=json.loads(json.dumps({"detail": errors}, default=str)))


def _allow_header_handler(app: FastAPI):
    """405 responses list every documented method of the path in ``Allow`` (the router alone
    names only the first route it matched)."""
    from fastapi.exception_handlers import http_exception_handler
    from starlette.exceptions import HTTPException as StarletteHTTPException

    templates: list[tuple[re.Pattern, int, set[str]]] = []

    def methods_for(path: str) -> set[str] | None:
        if not templates:
            for template, ops in app.openapi().get("paths", {}).items():
                pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(template)) + "$")
                templates.append((pattern, template.count("{"), {m.upper() for m in ops}))
        found = sorted((n, m) for pat, n, m in templates if pat.match(path))
        return found[0][1] if found else None

    async def handler(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 405:
            methods = methods_for(request.url.path)
            if methods:
                exc.headers = {**(exc.headers or {}), "Allow": ", ".join(sorted(methods))}
        return await http_exception_handler(request, exc)

    return StarletteHTTPException, handler


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The service on ``settings.database_url`` (or ``engine``). Refuses to start when a route has no access policy."""
    settings = settings or get_settings()
    app = FastAPI(
        dependencies=[Depends(reject_unknown_query)],
        title="jointplan",
        version="0.1.0",
        docs_url=None,  # served from the installed package by api.docs, not from a CDN
        redoc_url=None,
        description=DESCRIPTION,
        openapi_tags=[{"name": r.tags[0]} for r in ROUTERS if r.tags],
    )
    app.state.settings = settings
    app.state.engine = engine or make_engine(settings.database_url)
    app.state.session_factory = session_factory(app.state.engine)
    for router in ROUTERS:
        app.include_router(router, responses=COMMON_RESPONSES)
    app.include_router(health.router)  # unauthenticated readiness, outside the API schema
    docs.add_docs(app)  # /docs and /redoc, offline
    app.include_router(webapp.router)  # the web workbench at /app, and / redirecting there
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(*_allow_header_handler(app))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    missing = access.missing_policies(app.routes)
    if missing:
        raise RuntimeError("routes without an access policy (add them in api/access.py terms): " + ", ".join(missing))
    return app


def app_from_environment() -> FastAPI:
    """The app on the settings in the environment, read now (``jointplan serve``'s factory: each
    worker process calls it; the settings reach the workers as ``JOINTPLAN_*`` variables)."""
    return create_app(Settings())
