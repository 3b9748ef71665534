"""The interactive API documentation, offline: ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) load
their JavaScript and CSS from ``/docs/assets/``, files shipped in the ``fastapi-offline`` package
(installed with jointplan), never from a CDN. No token needed; not in the OpenAPI schema.

FastAPI's defaults point the pages at a CDN, which leaves them blank on a machine without
internet access; this follows FastAPI's "self-hosting JavaScript and CSS for docs".
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from api.bodies import StrictJSONRoute

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/docs/assets"
DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL = "/docs", "/redoc", "/docs/oauth2-redirect"
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def add_docs(app: FastAPI) -> None:
    """Add ``/docs``, ``/docs/oauth2-redirect``, ``/redoc`` and the assets under ``/docs/assets``
    to ``app`` (made with ``docs_url=None, redoc_url=None``)."""
    missing = [name for name in ASSET_FILES if not (ASSETS_DIR / name).is_file()]
    if missing:  # a broken install: say so at start rather than serve blank pages
        raise RuntimeError(f"documentation assets missing from {ASSETS_DIR}: {', '.join(missing)} "
                           "(reinstall: pip install fastapi-offline)")
    router = APIRouter(route_class=StrictJSONRoute, include_in_schema=False)

    def root(request: Request) -> str:
        return request.scope.get("root_path", "").rstrip("/")

    @router.get(DOCS_URL)
    async def swagger_ui(request: Request) -> HTMLResponse:
        r = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{r}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{r}{OAUTH2_REDIRECT_URL}",
            swagger_js_url=f"{r}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{r}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{r}{ASSETS_URL}/favicon.png",
            # no badge fetched from the public validator (it would fail offline)
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    @router.get(OAUTH2_REDIRECT_URL)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get(REDOC_URL)
    async def redoc(request: Request) -> HTMLResponse:
        r = root(request)
        return get_redoc_html(
            openapi_url=f"{r}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{r}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{r}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
