"""The web workbench (``web/``, a single-page app) served by the service at ``/app``.

- ``/app/<file>``: a file of the build (``JOINTPLAN_WEB_DIST``, default ``web/dist``); the hashed
  files under ``assets/`` are cached for a year, ``index.html`` never.
- ``/app/<anything else>``: ``index.html``, so the app's own routes (``/app/plans/12``) survive a
  reload; but a missing file under ``/app/assets/`` is 404 (a stale page asking for an old bundle
  must not get HTML for JavaScript).
- ``/app`` redirects to ``/app/`` (the app's base) and ``/`` to ``/app/`` (307).
- Without a build: ``/app`` and everything under it answer a small HTML page (503) saying how to
  build the workbench (``make web``, or ``cd web && npm ci && npm run build``); the API and
  ``/docs`` work as ever.

No token needed (the app signs in through ``/auth``); none of these routes is in the OpenAPI schema.
"""

from __future__ import annotations

import html
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.bodies import StrictJSONRoute

APP_PREFIX = "/app"
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
IMMUTABLE = "public, max-age=31536000, immutable"

class WebAppRoute(StrictJSONRoute):
    """A route of the web app: any query string is the app's own (``/app/plans?compare=1,2``),
    not refused as unknown parameters (:func:`api.deps.reject_unknown_query`)."""

    accepts_any_query = True


router = APIRouter(route_class=WebAppRoute, include_in_schema=False)


def _dist(request: Request) -> Path:
    return Path(request.app.state.settings.web_dist)


def not_built_page(dist: Path) -> HTMLResponse:
    """The 503 page shown at ``/app`` when the workbench has not been built."""
    where = html.escape(str(dist))
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>jointplan: the workbench is not built</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.5">
<h1>The web workbench is not built</h1>
<p>This jointplan service found no build of the workbench at <code>{where}</code>
(the setting <code>JOINTPLAN_WEB_DIST</code>).</p>
<p>Build it from a checkout of jointplan (Node.js and npm needed), then reload this page:</p>
<pre>make web</pre>
<p>or</p>
<pre>cd web &amp;&amp; npm ci &amp;&amp; npm run build</pre>
<p>The API works without it: its documentation is at <a href="/docs">/docs</a>.</p>
</body></html>
"""
    return HTMLResponse(body, status_code=503, headers={**HEADERS, "Cache-Control": "no-store", "Retry-After": "60"})


def _index(dist: Path) -> Response:
    return FileResponse(dist / "index.html", media_type="text/html", headers={**HEADERS, "Cache-Control": "no-cache"})


@router.api_route("/", methods=["GET", "HEAD"])
async def root() -> RedirectResponse:
    """``/`` opens the workbench."""
    return RedirectResponse(f"{APP_PREFIX}/", status_code=307)


@router.api_route(APP_PREFIX, methods=["GET", "HEAD"])
async def app_base(request: Request) -> Response:
    dist = _dist(request)
    if not (dist / "index.html").is_file():
        return not_built_page(dist)
    return RedirectResponse(f"{APP_PREFIX}/", status_code=307)


@router.api_route(APP_PREFIX + "/{path:path}", methods=["GET", "HEAD"])
async def app_files(path: str, request: Request) -> Response:
    """A file of the build, or ``index.html`` for the app's own routes."""
    dist = _dist(request)
    if not (dist / "index.html").is_file():
        return not_built_page(dist)
    root_dir = dist.resolve()
    if path:
        try:
            candidate = (root_dir / path).resolve()
            found = (candidate == root_dir or root_dir in candidate.parents) and candidate.is_file()
        except (OSError, ValueError):  # a NUL character, a name too long for the file system
            found = False
        if found:
            cache = IMMUTABLE if candidate.parent.name == "assets" and root_dir / "assets" == candidate.parent else "no-cache"
            return FileResponse(candidate, headers={**HEADERS, "Cache-Control": cache})
        if path == "assets" or path.startswith("assets/"):
            return Response("not found", status_code=404, media_type="text/plain", headers=HEADERS)
    return _index(dist)
