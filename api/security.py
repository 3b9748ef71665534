"""Bearer tokens: random, shown once, stored only as their SHA-256 hash."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from api.models import ROLES, ApiToken, PartnerRecord, User, utcnow

TOKEN_PREFIX = "jp_"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,99}$")


class UserError(ValueError):
    """A user request that cannot be carried out; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(f"{field}: {message}")


def new_token() -> str:
    """A fresh random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 (hex) of a token: what the database keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, user: User) -> str:
    """Store a new token's hash for ``user`` and return the token (the only time it is seen).
    Refused (:class:`UserError`) for a disabled user or a user of a disabled partner."""
    if user.disabled:
        raise UserError("user", f"user {user.name!r} is disabled: no token can be issued")
    if user.partner is not None and user.partner.disabled:
        raise UserError("partner_id", f"partner {user.partner_id!r} of user {user.name!r} is disabled: no token can be issued")
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    session.flush()
    return token


def create_user(session: Session, name: str, role: str, partner_id: str | None = None,
                password: str | None = None) -> tuple[User, str]:
    """Create a user with a first token (and a browser sign-in ``password``, when given: 10 to 256
    characters, kept as its argon2id hash); a partner user must name an existing partner."""
    if not NAME_PATTERN.match(name or ""):
        raise UserError("name", "letters, digits, _ . @ - (up to 100), starting with a letter or digit")
    if role not in ROLES:
        raise UserError("role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "partner" and not partner_id:
        raise UserError("partner_id", "required for a partner user")
    if role != "partner" and partner_id:
        raise UserError("partner_id", "only partner users belong to a partner")
    partner = session.get(PartnerRecord, partner_id) if partner_id else None
    if partner_id and partner is None:
        raise UserError("partner_id", f"no partner {partner_id!r}")
    if partner is not None and partner.disabled:
        raise UserError("partner_id", f"partner {partner_id!r} is disabled")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UserError("name", f"user {name!r} already exists")
    password_hash = None
    if password is not None:
        from api.web_auth import hash_password

        password_hash = hash_password(password)
    user = User(name=name, role=role, partner_id=partner_id, disabled=False, password_hash=password_hash)
    session.add(user)
    session.flush()
    return user, issue_token(session, user)


def revoke_tokens(session: Session, user: User) -> int:
    """Revoke every live token of ``user``; returns how many."""
    now = utcnow()
    live = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    for tok in live:
        tok.revoked_at = now
    return len(live)


def revoke_token(session: Session, *, token_id: int | None = None, token: str | None = None,
                 user: User | None = None) -> ApiToken:
    """Revoke one token, named by its id or by the token itself (of ``user`` when given);
    :class:`UserError` when there is no such token. Revoking a revoked token keeps its time."""
    if (token_id is None) == (token is None):
        raise UserError("token", "name the token by its id or by the token itself (one of them)")
    q = select(ApiToken).where(ApiToken.id == token_id) if token_id is not None else \
        select(ApiToken).where(ApiToken.token_hash == hash_token(token or ""))
    if user is not None:
        q = q.where(ApiToken.user_id == user.id)
    row = session.scalar(q)
    if row is None:
        raise UserError("token_id" if token_id is not None else "token", "no such token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def authenticate(session: Session, token: str, touch_seconds: float = 0.0) -> User | None:
    """The enabled user holding this live token, or None (one query on the unique token hash,
    joined to the user). Records the token's last use when the stored one is older than
    ``touch_seconds``: one ``UPDATE ... WHERE last_used_at < cutoff``, committed at once, so most
    reads write nothing and concurrent requests of one token write it once."""
    if not token:
        return None
    found = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                            .where(ApiToken.token_hash == hash_token(token))).first()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or user.disabled:
        return None
    now = utcnow()
    cutoff = now - timedelta(seconds=touch_seconds)
    if row.last_used_at is None or row.last_used_at < cutoff:
        session.execute(update(ApiToken).where(ApiToken.id == row.id,
                                               or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < cutoff))
                        .values(last_used_at=now).execution_options(synchronize_session=False))
        session.commit()
        set_committed_value(row, "last_used_at", now)  # as stored, without a second write
    return user
