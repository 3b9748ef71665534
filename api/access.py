"""Who may call what: one :class:`Policy` per (method, path template) of the API.

Every route must have an entry (the app refuses to start otherwise, and
``tests/test_api_access_matrix.py`` checks the behaviour of each). The role check is enforced by
:func:`api.deps.authorized` from this registry; object-level checks (a partner user reaching
another partner's object) are made in the route with :func:`own_partner_or_404` and friends,
and the policy's ``obj`` says which object kind the path names so the matrix test can try an own
and an other partner's object.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import HTTPException

from api.models import ROLES, User

ALL_ROLES = frozenset(ROLES)
STAFF = frozenset({"admin", "planner", "finance"})
# Invoices between partners (issue 18, api/routes/invoices.py): a partner user records its own
# (as the seller) and confirms, disputes and pays those it buys; it sees only invoices it sells or
# buys (another partner's is 404). Finance and admin read every invoice (finance: its programme's;
# every invoice until programmes exist) and verify the chain, but act on none. Planners have no
# access (403): partners' receivables and payables are not planning data.
INVOICE_PARTIES = frozenset({"partner"})
INVOICE_READERS = frozenset({"admin", "finance", "partner"})
INVOICE_AUDITORS = frozenset({"admin", "finance"})


@dataclass(frozen=True)
class Policy:
    """Access rule of one route.

    - ``roles``: roles allowed to call it at all (others get 403).
    - ``obj``: kind of object named by the path's id (e.g. ``"upload"``), or None.
    - ``partner_owned``: that object belongs to a partner; a partner user reaching another
      partner's object gets 404 (its existence must not leak).
    - ``partner_filtered``: a list/read that a partner user sees filtered to its own items.
    - ``public``: no token checked by the policy (``roles`` empty); the route authenticates the
      caller itself, if at all (``/auth/login``, ``/auth/logout``, ``/auth/me``).
    """

    roles: frozenset[str]
    obj: str | None = None
    partner_owned: bool = False
    partner_filtered: bool = False
    note: str = ""
    extra: dict = field(default_factory=dict, compare=False)
    public: bool = False


POLICIES: dict[tuple[str, str], Policy] = {}


def register(method: str, path: str, roles: set[str] | frozenset[str], *, obj: str | None = None,
             partner_owned: bool = False, partner_filtered: bool = False, note: str = "") -> Policy:
    """Add the rule of ``method path`` (path as declared, e.g. ``/uploads/{upload_id}``)."""
    unknown = set(roles) - ALL_ROLES
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)} for {method} {path}")
    key = (method.upper(), path)
    pol = Policy(frozenset(roles), obj, partner_owned, partner_filtered, note)
    return _add(key, pol)


def register_public(method: str, path: str, note: str) -> Policy:
    """Add ``method path`` as a route without a token check (``note`` says why and what it checks itself)."""
    return _add((method.upper(), path), Policy(frozenset(), note=note, public=True))


def _add(key: tuple[str, str], pol: Policy) -> Policy:
    method, path = key
    if key in POLICIES and POLICIES[key] != pol:
        raise ValueError(f"conflicting access policies for {method} {path}")
    POLICIES[key] = pol
    return pol


def policy_for(method: str, path: str) -> Policy | None:
    return POLICIES.get((method.upper(), path))


def api_routes(routes) -> list[tuple[str, str]]:
    """``(METHOD, path)`` of every API operation in an app's route table (included routers
    flattened; the documentation routes left out)."""
    from fastapi.routing import iter_route_contexts

    out = set()
    for route in iter_route_contexts(routes):
        methods = getattr(route, "methods", None)
        if not methods or not getattr(route, "include_in_schema", False):
            continue
        out |= {(m, route.path) for m in methods - {"HEAD", "OPTIONS"}}
    return sorted(out)


def missing_policies(routes) -> list[str]:
    """``METHOD path`` of every API route (of an app's route table) without a policy."""
    return [f"{m} {p}" for m, p in api_routes(routes) if policy_for(m, p) is None]


def partner_scope(user: User) -> str | None:
    """The partner a user's reads are limited to (None: not limited)."""
    return user.partner_id if user.role == "partner" else None


def not_found(what: str, ident: object) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} {ident} not found")


def own_partner_or_404(user: User, partner_id: str | None, what: str, ident: object) -> None:
    """A partner user may only reach its own partner's objects; others look absent (404)."""
    scope = partner_scope(user)
    if scope is not None and partner_id != scope:
        raise not_found(what, ident)


def forbid(detail: str) -> HTTPException:
    return HTTPException(status_code=403, detail=detail)
