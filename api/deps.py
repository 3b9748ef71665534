"""Dependencies shared by the routes: the database session, the authenticated user, the access
policy check and paging.

- ``SessionDep``: a session of the app's database (``app.state.session_factory``).
- ``CurrentUser``: the user of the bearer token, or else of the browser session cookie (401 with
  ``WWW-Authenticate: Bearer`` when neither is valid: missing, unknown, revoked, expired or its
  user disabled; 403 for a browser session's unsafe request without its CSRF token).
- ``AuthorizedUser``: ``CurrentUser`` whose role the route's policy in :mod:`api.access` allows (403
  otherwise, and for every user of a disabled partner). Every route takes this one.
- ``PageDep``: ``limit``/``offset`` query parameters, 422 above the page limit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api import access, web_auth
from api.models import User
from api.security import authenticate
from api.settings import Settings, get_settings

bearer = HTTPBearer(auto_error=False, description="A token from `jointplan users create` or `jointplan users token`")


# Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` one in the thread
# pool, a hop between threads per dependency and request that costs more than their work.


async def get_settings_dep(request: Request) -> Settings:
    return getattr(request.app.state, "settings", None) or get_settings()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A session for one request; rolled back if the route fails, closed afterwards. (The session
    connects on its first query, in the route's thread; closing only hands the connection back.)"""
    session: Session = request.app.state.session_factory()
    try:
        yield session
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


MISSING_CREDENTIALS = ("missing bearer token (Authorization: Bearer <token>) or browser session "
                       "(the jp_session cookie from POST /auth/login)")


def _bearer_of(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def caller(request: Request, session: Session, settings: Settings, *, touch: bool) -> User:
    """The user a request acts as: the bearer token's when there is one (a bearer token wins over
    a cookie), else the browser session's (``jp_session`` cookie; an unsafe method also needs the
    session's CSRF token in ``X-CSRF-Token``). 401 with ``WWW-Authenticate: Bearer`` without
    valid credentials, 403 for a missing or wrong CSRF token. ``touch``: record the last use."""
    token = _bearer_of(request)
    if token is not None:
        user = authenticate(session, token, settings.token_touch_seconds if touch else 10**9)
        if user is None:
            raise unauthorized("invalid, revoked or disabled token")
        return user
    cookie = request.cookies.get(web_auth.SESSION_COOKIE)
    if not cookie:
        raise unauthorized(MISSING_CREDENTIALS)
    found = web_auth.find_web_session(session, cookie, settings, touch=touch)
    if found is None:
        raise unauthorized("browser session expired, signed out or unknown: sign in again (POST /auth/login)")
    row, user = found
    if request.method.upper() not in web_auth.SAFE_METHODS and not web_auth.csrf_matches(
            row, request.headers.get(web_auth.CSRF_HEADER)):
        raise access.forbid(f"missing or wrong {web_auth.CSRF_HEADER} header: a browser session's "
                            f"{request.method.upper()} requests must send the csrf_token of POST /auth/login "
                            "(or GET /auth/me)")
    request.state.web_session_id = row.id  # the session the request came with (PUT /users/{id}/password keeps it)
    return user


def current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    """The user holding the request's bearer token, or else its browser session (:func:`caller`;
    a token's or session's last use is recorded at most once per ``token_touch_seconds``: a read
    costs no write). ``credentials`` puts the bearer scheme in the OpenAPI schema."""
    return caller(request, session, settings, touch=True)


CurrentUser = Annotated[User, Depends(current_user)]


def denial(request: Request) -> HTTPException | None:
    """The 401 or 403 a request would get from :func:`authorized`, or None (also for routes
    without an access policy, or a public one: ``/health``, the documentation, ``/auth``, the web
    app). Invalid input is reported only to a caller who may call the route, so a 422 never comes
    before the missing token's 401."""
    route = request.scope.get("route")
    method = "GET" if request.method == "HEAD" else request.method
    pol = access.policy_for(method, getattr(route, "path", ""))
    if pol is None or pol.public:
        return None
    session: Session = request.app.state.session_factory()
    settings = getattr(request.app.state, "settings", None) or get_settings()
    try:
        user = caller(request, session, settings, touch=False)  # no last-use write for a check
        suspended = partner_disabled(user)
        role = user.role
    except HTTPException as exc:
        return exc
    finally:
        session.rollback()  # a refused request does not count as the token's use
        session.close()
    if suspended is not None:
        return suspended
    if role not in pol.roles:
        return access.forbid(f"role {role!r} may not call {method} {route.path}")
    return None


def partner_disabled(user: User) -> HTTPException | None:
    """403 for a user of a disabled partner (its token is valid, its partner's access suspended)."""
    if user.partner_id is not None and user.partner is not None and user.partner.disabled:
        return access.forbid(f"partner {user.partner_id!r} is disabled: its users are refused until it is enabled again")
    return None


def authorized(request: Request, user: CurrentUser) -> User:
    """``user``, if the access policy of the matched route admits the user's role (else 403)."""
    route = request.scope.get("route")
    method = "GET" if request.method == "HEAD" else request.method
    pol = access.policy_for(method, getattr(route, "path", ""))
    if pol is None:
        raise access.forbid(f"no access policy for {method} {getattr(route, 'path', '?')}")
    refused = partner_disabled(user)
    if refused is not None:
        raise refused
    if user.role not in pol.roles:
        raise access.forbid(f"role {user.role!r} may not call {method} {route.path}")
    return user


AuthorizedUser = Annotated[User, Depends(authorized)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def page_params(
    settings: SettingsDep,
    limit: Annotated[int | None, Query(ge=1, le=get_settings().max_page_size,
                                       description="Items per page (default and maximum in the service settings; 422 above the maximum)")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="Items skipped before the page")] = 0,
) -> Page:
    """Paging parameters, checked against the app's ``max_page_size``."""
    if limit is not None and limit > settings.max_page_size:
        raise RequestValidationError([{
            "type": "less_than_equal", "loc": ("query", "limit"),
            "msg": f"Input should be less than or equal to {settings.max_page_size} (the largest page)",
            "input": limit, "ctx": {"le": settings.max_page_size},
        }])
    return Page(limit or min(settings.default_page_size, settings.max_page_size), offset)


PageDep = Annotated[Page, Depends(page_params)]


async def raw_body(request: Request) -> bytes:
    """The request body as bytes (lets a sync route read a CSV or JSON body itself)."""
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


def _query_names(dependant, out: set[str]) -> set[str]:
    for f in dependant.query_params:
        out.add(f.alias or f.name)
    for sub in dependant.dependencies:
        _query_names(sub, out)
    return out


async def reject_unknown_query(request: Request) -> None:
    """422 for a query parameter the route does not declare (a misspelt ``limt`` is not ignored)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not request.query_params or getattr(route, "accepts_any_query", False):
        return
    known = _query_names(dependant, set())
    unknown = sorted({k for k in request.query_params.keys() if k not in known})
    if unknown:
        raise RequestValidationError([
            {"type": "extra_forbidden", "loc": ("query", k), "msg": "unknown query parameter", "input": request.query_params.get(k)}
            for k in unknown
        ])
