"""Users and their tokens (admins), and ``/users/me`` for everyone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from api import access
from api.bodies import StrictJSONRoute
from api import web_auth
from api.deps import AuthorizedUser, PageDep, SessionDep, SettingsDep
from api.errors import CONFLICT, NOT_FOUND, _resp, commit_or_conflict
from api.models import ApiToken, User
from api.schemas import Ident, Out, PageOf
from api.security import UserError, create_user, issue_token, revoke_token, revoke_tokens

router = APIRouter(prefix="/users", tags=["users"], route_class=StrictJSONRoute)

UserId = Annotated[int, Path(ge=1, le=2**31 - 1, description="User id")]
Password = Annotated[str, Field(min_length=web_auth.PASSWORD_MIN, max_length=web_auth.PASSWORD_MAX,
                                description=f"A password of {web_auth.PASSWORD_MIN} to {web_auth.PASSWORD_MAX} characters "
                                            "(kept only as its argon2id hash)")]
TokenId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Token id (from GET /users/{user_id}/tokens)")]


class UserCreate(BaseModel):
    """A new user; the response carries its first token, shown only this once."""

    model_config = {"json_schema_extra": {"examples": [{"name": "ana@shops", "role": "partner", "partner_id": "shops"}]}}
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@\-]*$",
                               description="Login name: letters, digits, _ . @ -")]
    role: Literal["admin", "planner", "finance", "partner"] = Field(description="What the user may do")
    partner_id: Ident | None = Field(None, description="The partner a partner user belongs to (required for role partner)")
    password: Password | None = Field(None, description="Browser sign-in password (none: the user signs in only with tokens)")


class UserPublic(Out):
    """A user."""

    id: int = Field(description="User id")
    name: str = Field(description="Login name")
    role: str = Field(description="admin, planner, finance or partner")
    partner_id: str | None = Field(description="The partner of a partner user")
    disabled: bool = Field(description="A disabled user's tokens are refused")
    created_at: datetime = Field(description="When it was created [UTC]")
    has_password: bool = Field(description="Whether the user can sign in from a browser (POST /auth/login)")


class UserWithToken(BaseModel):
    """A user and a new bearer token (store it: only its hash is kept)."""

    user: UserPublic = Field(description="The user")
    token: str = Field(description="Bearer token, shown only this once")
    token_id: int = Field(description="The token's id (to revoke it: POST /users/{user_id}/tokens/{token_id}/revoke)")


class TokenPublic(Out):
    """A token, without its value (only its hash is kept)."""

    id: int = Field(description="Token id")
    user_id: int = Field(description="Its user")
    created_at: datetime = Field(description="When it was issued [UTC]")
    last_used_at: datetime | None = Field(description="When it was last accepted [UTC]")
    revoked_at: datetime | None = Field(description="When it was revoked [UTC]; null: live")


access.register("GET", "/users/me", access.ALL_ROLES, note="the caller itself")
access.register("GET", "/users", {"admin"})
access.register("POST", "/users", {"admin"})
access.register("GET", "/users/{user_id}", {"admin"}, obj="user")
access.register("POST", "/users/{user_id}/tokens", {"admin"}, obj="user")
access.register("POST", "/users/{user_id}/disable", {"admin"}, obj="user")
access.register("GET", "/users/{user_id}/tokens", {"admin"}, obj="user")
access.register("POST", "/users/{user_id}/tokens/{token_id}/revoke", {"admin"}, obj="user")
access.register("PUT", "/users/{user_id}/password", access.ALL_ROLES, obj="user",
                note="an admin sets anyone's; any other user only its own, with current_password")


class PasswordChange(BaseModel):
    """A new password; a user setting its own also gives the current one (admins setting anyone's need not)."""

    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [
        {"password": "a much longer passphrase", "current_password": "the old passphrase"}]}}
    password: Password = Field(description="The new password")
    current_password: Annotated[str, Field(min_length=1, max_length=1024)] | None = Field(
        None, description="The caller's current password: required to change one's own (not for an admin)")


class PasswordSet(BaseModel):
    """The user whose password was set, and how many of its browser sessions were ended."""

    user: UserPublic = Field(description="The user")
    sessions_revoked: int = Field(description="Browser sessions of the user ended (all but the caller's own)")


@router.get("/me", response_model=UserPublic, summary="The calling user")
def me(user: AuthorizedUser):
    return user


@router.get("", response_model=PageOf[UserPublic], summary="List users")
def list_users(user: AuthorizedUser, session: SessionDep, page: PageDep):
    total = session.scalar(select(func.count()).select_from(User))
    items = session.scalars(select(User).order_by(User.id).limit(page.limit).offset(page.offset)).all()
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.post("", response_model=UserWithToken, status_code=status.HTTP_201_CREATED, summary="Create a user with a token",
             responses={**CONFLICT, 422: {"description": "Invalid input, or an unknown partner"}})
def add_user(body: UserCreate, user: AuthorizedUser, session: SessionDep):
    try:
        new, token = create_user(session, body.name, body.role, body.partner_id, body.password)
        token_id = _latest_token_id(session, new)
    except UserError as exc:
        session.rollback()
        code = 409 if "already exists" in str(exc) else 422
        detail = str(exc) if code == 409 else [{"field": f"body.{exc.field}", "loc": ["body", exc.field],
                                                "msg": str(exc).split(": ", 1)[1], "type": "value_error"}]
        raise HTTPException(code, detail=detail) from None
    commit_or_conflict(session, f"name: user {body.name!r} already exists")
    return {"user": new, "token": token, "token_id": token_id}


def _latest_token_id(session, user: User) -> int:
    return session.scalar(select(func.max(ApiToken.id)).where(ApiToken.user_id == user.id))


def _user(session, user_id: int) -> User:
    found = session.get(User, user_id)
    if found is None:
        raise access.not_found("user", user_id)
    return found


@router.get("/{user_id}", response_model=UserPublic, summary="One user", responses=NOT_FOUND)
def get_user(user_id: UserId, user: AuthorizedUser, session: SessionDep):
    return _user(session, user_id)


@router.post("/{user_id}/tokens", response_model=UserWithToken, status_code=status.HTTP_201_CREATED,
             summary="Issue a new token (earlier tokens stay valid)",
             responses={**NOT_FOUND, 409: _resp("The user (or its partner) is disabled: no token is issued")})
def new_token(user_id: UserId, user: AuthorizedUser, session: SessionDep):
    target = _user(session, user_id)
    try:
        token = issue_token(session, target)
    except UserError as exc:
        session.rollback()
        raise HTTPException(409, detail=str(exc)) from None
    token_id = _latest_token_id(session, target)
    session.commit()
    return {"user": target, "token": token, "token_id": token_id}


@router.get("/{user_id}/tokens", response_model=list[TokenPublic], summary="A user's tokens (ids and times, never values)",
            responses=NOT_FOUND)
def list_tokens(user_id: UserId, user: AuthorizedUser, session: SessionDep):
    target = _user(session, user_id)
    return session.scalars(select(ApiToken).where(ApiToken.user_id == target.id).order_by(ApiToken.id)).all()


@router.post("/{user_id}/tokens/{token_id}/revoke", response_model=TokenPublic,
             summary="Revoke one token (the user's other tokens stay valid)", responses=NOT_FOUND)
def revoke_one_token(user_id: UserId, token_id: TokenId, user: AuthorizedUser, session: SessionDep):
    """The token is refused (401) from now on; revoking it again changes nothing."""
    target = _user(session, user_id)
    try:
        row = revoke_token(session, token_id=token_id, user=target)
    except UserError:
        raise access.not_found(f"token of user {user_id}", token_id) from None
    session.commit()
    return row


@router.post("/{user_id}/disable", response_model=UserPublic, summary="Disable a user and revoke its tokens",
             responses=NOT_FOUND)
def disable_user(user_id: UserId, user: AuthorizedUser, session: SessionDep):
    """Its tokens are revoked and its browser sessions ended."""
    target = _user(session, user_id)
    target.disabled = True
    revoke_tokens(session, target)
    web_auth.revoke_web_sessions(session, target)
    session.commit()
    return target


def _field_error(field: str, msg: str) -> HTTPException:
    return HTTPException(422, detail=[{"field": f"body.{field}", "loc": ["body", field], "msg": msg, "type": "value_error"}])


@router.put("/{user_id}/password", response_model=PasswordSet, summary="Set a user's browser sign-in password",
            responses={**NOT_FOUND, 403: _resp("Not an admin, and not the caller's own password"),
                       429: {**_resp("Too many wrong current passwords: wait `Retry-After` seconds"),
                             "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}}})
def set_password(user_id: UserId, body: PasswordChange, request: Request, user: AuthorizedUser, session: SessionDep,
                 settings: SettingsDep):
    """An admin sets anyone's password; any other user only its own, giving ``current_password``
    (a wrong one is 422 and counts as a failed sign-in of the user, so it is rate-limited as
    sign-ins are). The user's browser sessions are ended, but the one this request came with."""
    if user.role != "admin" and user.id != user_id:
        raise access.forbid("only an admin may set another user's password")
    target = _user(session, user_id)
    if user.role != "admin":
        if body.current_password is None:
            raise _field_error("current_password", "required to change your own password")
        address = request.client.host if request.client and request.client.host else "unknown"
        wait = web_auth.login_retry_after(session, target.name, address, settings)
        if wait is not None:
            raise HTTPException(429, detail=f"too many failed sign-ins: try again in {wait} s",
                                headers={"Retry-After": str(wait)})
        if not web_auth.verify_password(target.password_hash, body.current_password):
            web_auth.record_login_failure(session, target.name, address, settings)
            session.commit()
            raise _field_error("current_password", "wrong password")
    keep = getattr(request.state, "web_session_id", None) if user.id == target.id else None
    revoked = web_auth.set_password(session, target, body.password, keep_session_id=keep)
    session.commit()
    return {"user": target, "sessions_revoked": revoked}
