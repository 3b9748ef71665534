"""Browser sign-in: ``POST /auth/login``, ``POST /auth/logout``, ``GET /auth/me``.

A browser signs in with a name and password and gets the ``jp_session`` cookie (HttpOnly,
SameSite=Strict, Path=/, Secure over https) and a CSRF token; every API route then accepts the
cookie as it accepts a bearer token (a bearer token wins when both come), and a request with an
unsafe method (POST, PUT, PATCH, DELETE) must carry the CSRF token in ``X-CSRF-Token`` (403
otherwise). See :mod:`api.web_auth` for the sessions, passwords and the rate limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from api import access, web_auth
from api.bodies import StrictJSONRoute
from api.deps import SessionDep, SettingsDep, partner_disabled, unauthorized
from api.errors import _resp
from api.models import User, WebSession, utcnow
from api.routes.users import UserPublic
from api.security import hash_token

router = APIRouter(prefix="/auth", tags=["auth"], route_class=StrictJSONRoute)

access.register_public("POST", "/auth/login", note="checks the name and password itself (rate-limited)")
access.register_public("POST", "/auth/logout", note="ends the caller's browser session, if any (CSRF token needed)")
access.register_public("GET", "/auth/me", note="the caller's browser session (401 without one)")


class Login(BaseModel):
    """A sign-in."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "pia@planning", "password": "correct horse battery staple"}]})
    name: Annotated[str, Field(min_length=1, max_length=100, description="Login name")]
    password: Annotated[str, Field(min_length=1, max_length=1024, description="The user's password")]


class SessionInfo(BaseModel):
    """The signed-in user and the session's CSRF token (send it as ``X-CSRF-Token`` with every
    POST, PUT, PATCH and DELETE)."""

    user: UserPublic = Field(description="The signed-in user")
    csrf_token: str = Field(description="Send as the X-CSRF-Token header with every unsafe request of this session")
    expires_at: datetime = Field(description="When the session ends however used [UTC]")
    idle_expires_at: datetime = Field(description="When the session ends if not used before [UTC]")
    idle_timeout_minutes: float = Field(description="A session unused this long ends")


NO_STORE = {"Cache-Control": "no-store"}
RETRY_AFTER = {"Retry-After": {"description": "Seconds until a sign-in may be tried again", "schema": {"type": "integer"}}}
REFUSED = {401: _resp("Wrong name or password (the same answer for an unknown user, a user without a password, "
                      "and a disabled user or partner)")}
TOO_MANY = {429: {**_resp("Too many failed sign-ins for this name or from this address: wait `Retry-After` seconds"),
                  "headers": RETRY_AFTER}}


def _address(request: Request) -> str:
    return request.client.host if request.client and request.client.host else "unknown"


def _set_cookie(request: Request, response: Response, token: str, max_age: int) -> None:
    response.set_cookie(web_auth.SESSION_COOKIE, token, max_age=max_age, path="/", httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")


def _clear_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(web_auth.SESSION_COOKIE, path="/", httponly=True, samesite="strict",
                           secure=request.url.scheme == "https")


def _info(user: User, row: WebSession, csrf: str, settings) -> dict:
    return {"user": user, "csrf_token": csrf, "expires_at": row.expires_at,
            "idle_expires_at": web_auth.idle_expiry(row, settings), "idle_timeout_minutes": settings.session_idle_minutes}


@router.post("/login", response_model=SessionInfo, summary="Sign in with a name and password (sets the session cookie)",
             responses={**REFUSED, **TOO_MANY})
def login(body: Login, request: Request, response: Response, session: SessionDep, settings: SettingsDep):
    """Checks the password (argon2id) and opens a session: the ``jp_session`` cookie and the CSRF
    token in the body. Failed sign-ins are limited per name and per client address
    (``JOINTPLAN_LOGIN_MAX_FAILURES_PER_NAME`` / ``..._PER_ADDRESS`` within
    ``JOINTPLAN_LOGIN_WINDOW_MINUTES``): past them 429 with ``Retry-After``, without checking the
    password. A successful sign-in clears the name's count and ends the session whose cookie it
    carried, if any."""
    address = _address(request)
    wait = web_auth.login_retry_after(session, body.name, address, settings)
    if wait is not None:
        raise HTTPException(429, detail=f"too many failed sign-ins: try again in {wait} s",
                            headers={"Retry-After": str(wait), **NO_STORE})
    user = session.scalar(select(User).where(User.name == body.name))
    ok = web_auth.verify_password(user.password_hash if user is not None else None, body.password)
    if ok and (user.disabled or (user.partner is not None and user.partner.disabled)):
        ok = False  # the same answer as a wrong password: whether the user exists does not leak
    if not ok:
        web_auth.record_login_failure(session, body.name, address, settings)
        session.commit()
        raise HTTPException(401, detail=web_auth.LOGIN_REFUSED, headers=NO_STORE)
    web_auth.rehash_if_needed(user, body.password)
    web_auth.clear_login_failures(session, body.name)
    previous = request.cookies.get(web_auth.SESSION_COOKIE)
    if previous:
        session.execute(update(WebSession).where(WebSession.token_hash == hash_token(previous), WebSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow()).execution_options(synchronize_session=False))
    opened = web_auth.open_web_session(session, user, settings)
    web_auth.purge_ended_sessions(session)
    session.commit()
    _set_cookie(request, response, opened.token, int(settings.session_hours * 3600))
    response.headers.update(NO_STORE)
    return _info(user, opened.row, opened.csrf, settings)


@router.post("/logout", status_code=204, summary="Sign out (ends the browser session, clears the cookie)",
             responses={403: _resp("A live session's sign-out without its X-CSRF-Token")})
def logout(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Revokes the session of the ``jp_session`` cookie (which must come with its ``X-CSRF-Token``)
    and clears the cookie. Without a live session there is nothing to end: 204 all the same."""
    cookie = request.cookies.get(web_auth.SESSION_COOKIE)
    found = web_auth.find_web_session(session, cookie, settings, touch=False) if cookie else None
    if found is not None:
        row, _user = found
        if not web_auth.csrf_matches(row, request.headers.get(web_auth.CSRF_HEADER)):
            raise access.forbid(f"missing or wrong {web_auth.CSRF_HEADER} header: signing out needs the session's csrf_token")
        row.revoked_at = utcnow()
        session.commit()
    response = Response(status_code=204, headers=NO_STORE)
    _clear_cookie(request, response)
    return response


@router.get("/me", response_model=SessionInfo, summary="The browser session: its user and CSRF token",
            responses={401: _resp("No live browser session (a bearer token is not one)")})
def me(request: Request, response: Response, session: SessionDep, settings: SettingsDep):
    """For a page that was reloaded: who is signed in, and the CSRF token again (the same one for
    the whole session, so every tab holds it). 401 without a live session (expired, signed out,
    unknown, its user disabled), also when only a bearer token comes; 403 for a user of a
    disabled partner, as on every route."""
    cookie = request.cookies.get(web_auth.SESSION_COOKIE)
    found = web_auth.find_web_session(session, cookie, settings, touch=True) if cookie else None
    if found is None:
        exc = unauthorized("no browser session: sign in (POST /auth/login)")
        if cookie:  # a dead cookie is dropped
            probe = Response()
            _clear_cookie(request, probe)
            exc.headers = {**exc.headers, "Set-Cookie": probe.headers["set-cookie"]}
        raise exc
    row, user = found
    refused = partner_disabled(user)
    if refused is not None:
        raise refused
    response.headers.update(NO_STORE)
    return _info(user, row, web_auth.csrf_token(cookie), settings)

