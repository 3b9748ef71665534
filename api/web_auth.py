"""Browser sign-in: passwords (argon2id), cookie sessions with a CSRF token, and the rate limit on
failed sign-ins.

- Passwords are 10 to 256 characters (:func:`check_password`); only their argon2id hash is kept
  (``users.password_hash``). :func:`verify_password` costs the same whether or not the user exists
  or has a password (an unknown user is checked against a dummy hash).
- A session (``web_sessions``) is a random cookie value and a CSRF token derived from it (HMAC),
  both kept only as SHA-256 hashes. It ends ``session_hours`` after sign-in, after
  ``session_idle_minutes`` without use, or when revoked (sign-out, password change, user disabled).
  The CSRF token can be derived again from the cookie (``GET /auth/me``), so every tab of a browser
  holds the same one.
- Failed sign-ins are rows of ``login_failures``, counted per name and per client address over
  ``login_window_minutes`` (in the database, so across worker processes); a successful sign-in
  clears the name's count (not the address's).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from api.models import LoginFailure, User, WebSession, utcnow
from api.security import UserError, hash_token
from api.settings import Settings

PASSWORD_MIN = 10
PASSWORD_MAX = 256
SESSION_COOKIE = "jp_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_PREFIX = "jps_"
LOGIN_REFUSED = "wrong name or password"

_hasher = PasswordHasher()  # argon2id, the library's defaults (RFC 9106's second recommendation)


# --------------------------------------------------------------------------------- passwords


def check_password(password: object, field: str = "password") -> str:
    """``password`` if it meets the policy (a string of 10 to 256 characters), else :class:`UserError`."""
    if not isinstance(password, str):
        raise UserError(field, "must be a string")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise UserError(field, f"must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long, got {len(password)}")
    if "\x00" in password:
        raise UserError(field, "contains a NUL character")
    return password


def hash_password(password: str) -> str:
    """The argon2id hash of a password meeting the policy."""
    return _hasher.hash(check_password(password))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(24))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with no stored hash the password is checked
    against a dummy one (the same cost) and False returned."""
    try:
        ok = _hasher.verify(stored or _dummy_hash(), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored is not None


def rehash_if_needed(user: User, password: str) -> None:
    """At a successful sign-in: hash the password again if its stored hash was made with other
    parameters than today's (the password was just verified, so the policy is not checked again)."""
    try:
        stale = _hasher.check_needs_rehash(user.password_hash)
    except InvalidHashError:
        stale = True
    if stale:
        user.password_hash = _hasher.hash(password)


def set_password(session: Session, user: User, password: str, keep_session_id: int | None = None) -> int:
    """Give ``user`` a new password and revoke its browser sessions (but ``keep_session_id``, the
    caller's own when it changes its own password); returns how many were revoked."""
    user.password_hash = hash_password(password)
    return revoke_web_sessions(session, user, except_id=keep_session_id)


def revoke_web_sessions(session: Session, user: User, except_id: int | None = None) -> int:
    """Revoke every live browser session of ``user`` (but ``except_id``); returns how many."""
    q = update(WebSession).where(WebSession.user_id == user.id, WebSession.revoked_at.is_(None))
    if except_id is not None:
        q = q.where(WebSession.id != except_id)
    return session.execute(q.values(revoked_at=utcnow()).execution_options(synchronize_session=False)).rowcount or 0


# --------------------------------------------------------------------------------- sessions


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: an HMAC of a fixed label keyed by the cookie value (the
    cookie is HttpOnly; this token is handed to the page, which sends it back in X-CSRF-Token)."""
    return hmac.new(session_token.encode("utf-8"), b"jointplan csrf v1", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class OpenedSession:
    row: WebSession
    token: str  # the cookie value, seen only now
    csrf: str


def open_web_session(session: Session, user: User, settings: Settings) -> OpenedSession:
    """A new browser session of ``user`` (flushed, not committed)."""
    token = SESSION_PREFIX + secrets.token_urlsafe(32)
    csrf = csrf_token(token)
    now = utcnow()
    row = WebSession(user_id=user.id, token_hash=hash_token(token), csrf_hash=hash_token(csrf), created_at=now,
                     expires_at=now + timedelta(hours=settings.session_hours), last_seen_at=now)
    session.add(row)
    session.flush()
    return OpenedSession(row, token, csrf)


def _touch_seconds(settings: Settings) -> float:
    """How stale ``last_seen_at`` may be before a request writes it: the token setting, at most a
    tenth of the idle timeout (so the timeout is kept within 10 %)."""
    return min(settings.token_touch_seconds, settings.session_idle_minutes * 6.0)


def find_web_session(session: Session, token: str | None, settings: Settings,
                     touch: bool = True) -> tuple[WebSession, User] | None:
    """The live session of a cookie value and its enabled user, or None (unknown, revoked,
    expired, idle too long, or its user disabled). With ``touch`` its last use is recorded (one
    conditional UPDATE, committed, at most once per :func:`_touch_seconds`)."""
    if not token or len(token) > 200:
        return None
    found = session.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                            .where(WebSession.token_hash == hash_token(token))).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if (row.revoked_at is not None or user.disabled or now >= row.expires_at
            or now - row.last_seen_at >= timedelta(minutes=settings.session_idle_minutes)):
        return None
    if touch:
        cutoff = now - timedelta(seconds=_touch_seconds(settings))
        if row.last_seen_at < cutoff:
            session.execute(update(WebSession).where(WebSession.id == row.id, WebSession.last_seen_at < cutoff)
                            .values(last_seen_at=now).execution_options(synchronize_session=False))
            session.commit()
            set_committed_value(row, "last_seen_at", now)  # as stored, without a second write
    return row, user


def csrf_matches(row: WebSession, sent: str | None) -> bool:
    """Whether ``sent`` (the X-CSRF-Token header) is the session's CSRF token (constant time)."""
    if not sent or len(sent) > 200:
        return False
    return hmac.compare_digest(hash_token(sent), row.csrf_hash)


def idle_expiry(row: WebSession, settings: Settings) -> datetime:
    """When the session ends if unused from now on (never after ``expires_at``)."""
    return min(row.expires_at, row.last_seen_at + timedelta(minutes=settings.session_idle_minutes))


# --------------------------------------------------------------------------------- rate limit


def login_retry_after(session: Session, name: str, address: str, settings: Settings) -> int | None:
    """Seconds until one more sign-in of ``name`` from ``address`` may be tried, or None when it
    may be tried now (fewer failures than the limits within the window)."""
    now = utcnow()
    window = timedelta(minutes=settings.login_window_minutes)
    since = now - window
    waits = []
    for where, limit in ((
            (LoginFailure.name == name, LoginFailure.name_cleared.is_(False)), settings.login_max_failures_per_name),
            ((LoginFailure.address == address,), settings.login_max_failures_per_address)):
        # the limit-th most recent failure in the window: when it leaves the window, one try is free
        times = session.scalars(select(LoginFailure.at).where(*where, LoginFailure.at > since)
                                .order_by(LoginFailure.at.desc()).limit(limit)).all()
        if len(times) >= limit:
            waits.append((times[-1] + window - now).total_seconds())
    if not waits:
        return None
    return max(1, math.ceil(max(waits)))


def record_login_failure(session: Session, name: str, address: str, settings: Settings) -> None:
    """Count a failed sign-in (and drop failures older than the window: nothing counts them)."""
    now = utcnow()
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(minutes=settings.login_window_minutes))
                    .execution_options(synchronize_session=False))
    session.add(LoginFailure(name=name[:100], address=address[:100], at=now))
    session.flush()


def clear_login_failures(session: Session, name: str) -> None:
    """A successful sign-in: the name's failures stop counting against it (not against their address)."""
    session.execute(update(LoginFailure).where(LoginFailure.name == name, LoginFailure.name_cleared.is_(False))
                    .values(name_cleared=True).execution_options(synchronize_session=False))


def purge_ended_sessions(session: Session, older_than: timedelta = timedelta(days=30)) -> int:
    """Delete sessions that ended (expired or revoked) more than ``older_than`` ago."""
    cutoff = utcnow() - older_than
    return session.execute(delete(WebSession).where(or_(WebSession.expires_at < cutoff, WebSession.revoked_at < cutoff))
                           .execution_options(synchronize_session=False)).rowcount or 0
