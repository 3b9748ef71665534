"""The collaboration's rules for the shared history, its series and their lineage.

- ``GET /history/rules`` (everyone): the fixed key columns and who fixed them.
- ``PUT /history/rules`` (admin, planner): declare the key columns (once: while no history is
  stored, or the same ones again; 409 otherwise).
- ``GET /history/series`` (everyone; a partner: the series it owns or that are shared with it):
  each series with its owner (and, for staff, the partners it is shared with).
- ``PUT /history/series/owner`` (admin, planner): declare a series' owner (also before any row of
  it is uploaded); from then on only that partner's rows count.
- ``PUT /history/series/shares`` (admin, planner): the partners (besides the owner) that see a
  series, e.g. the supplier of its product; replaces the series' list.
- ``GET /history/lineage?series=...`` (everyone who sees the series; others get 404): every
  version of each date of a series with upload id, partner, author, time, value, whether its
  upload was retracted and whether it is the value that counts.
"""

from __future__ import annotations

from datetime import date as Day, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field
from sqlalchemy import delete, func, select

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep, SettingsDep
from api.errors import CONFLICT, NOT_FOUND
from api.history import key_columns, lock_rules, may_see, refresh_current, visible_series_query
from api.models import DataUpload, HistoryPoint, HistoryRules, HistorySeries, PartnerRecord, SeriesShare, User, utcnow
from api.schemas import PageOf
from forecasting.keys import key_values

router = APIRouter(prefix="/history", tags=["history"], route_class=StrictJSONRoute)

SeriesText = Annotated[str, Field(min_length=1, max_length=600, pattern=r"^[^\x00]+$",
                                  description="Series id: its key values joined by '/' in key-column order")]
SeriesQuery = Annotated[str, Query(min_length=1, max_length=600, pattern=r"^[^\x00]+$", examples=["widget/store-north"],
                                   description="Series id: its key values joined by '/' in key-column order")]
PartnerIdText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                     description="Partner id")]
ColumnName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\x00]*\S[^\x00]*$",
                                  description="Column name")]


class RulesPublic(BaseModel):
    """The collaboration's rules for the shared history."""

    key_columns: list[str] | None = Field(description="Fixed key columns (None: not fixed yet; the first accepted "
                                                       "upload fixes them unless an admin/planner declares them)")
    declared_by: str | None = Field(description="Admin/planner who declared them (None: taken from an upload)")
    from_upload_id: int | None = Field(description="Upload whose key columns were taken, if any")
    updated_at: datetime | None = Field(description="When they were fixed [UTC]")
    series: int = Field(description="Series of the shared history (visible to the caller)")


class RulesUpdate(BaseModel):
    """Declare the key columns of the shared history."""

    model_config = {"json_schema_extra": {"examples": [{"key_columns": ["product", "site"]}]}}
    key_columns: list[ColumnName] = Field(min_length=1, max_length=30,
                                          description="Key columns, in order (besides the date and quantity columns)")


class SeriesPublic(BaseModel):
    """A series of the shared history and who owns and sees it."""

    series: str = Field(description="Series id (key values joined by '/')")
    keys: dict[str, str] = Field(description="Key column -> value")
    owner: str = Field(description="Partner that owns it: only its rows count")
    owner_declared_by: str | None = Field(description="Admin/planner who declared the owner (None: first sharer)")
    shared_with: list[str] | None = Field(description="Other partners that see it (None when a partner asks)")
    created_at: datetime = Field(description="When it was first shared or declared [UTC]")


class OwnerDeclaration(BaseModel):
    """Declare the owner of a series."""

    model_config = {"json_schema_extra": {"examples": [{"series": "widget/store-north", "partner_id": "shops"}]}}
    series: SeriesText
    partner_id: PartnerIdText


class SharesUpdate(BaseModel):
    """The partners (besides its owner) that see a series; replaces the series' list."""

    model_config = {"json_schema_extra": {"examples": [{"series": "widget/store-north", "partner_ids": ["maker"]}]}}
    series: SeriesText
    partner_ids: list[PartnerIdText] = Field(max_length=100, description="Partners that see it ([]: only its owner)")


class PointVersion(BaseModel):
    """One version of one date of a series."""

    date: Day = Field(description="Date of the value")
    quantity: float = Field(description="Quantity sold [units]")
    upload_id: int = Field(description="Upload that brought it")
    partner_id: str = Field(description="Partner whose upload it is")
    author: str = Field(description="User who uploaded it")
    uploaded_at: datetime = Field(description="When it was uploaded [UTC]")
    retracted: bool = Field(description="Its upload was retracted")
    retracted_at: datetime | None = Field(description="When its upload was retracted [UTC]")
    from_owner: bool = Field(description="Uploaded by the series' owner (only the owner's versions count)")
    current: bool = Field(description="The value every read of the history uses for this date")


class Lineage(PageOf[PointVersion]):
    """Every version of each date of a series, by date then upload order."""

    series: str = Field(description="Series id")
    owner: str = Field(description="Partner that owns it")


access.register("GET", "/history/rules", access.ALL_ROLES, partner_filtered=True,
                note="series counted: those the caller sees")
access.register("PUT", "/history/rules", {"admin", "planner"})
access.register("GET", "/history/series", access.ALL_ROLES, partner_filtered=True,
                note="a partner sees the series it owns or that are shared with it")
access.register("PUT", "/history/series/owner", {"admin", "planner"})
access.register("PUT", "/history/series/shares", {"admin", "planner"})
access.register("GET", "/history/lineage", access.ALL_ROLES, partner_filtered=True,
                note="404 for a series the partner does not see")


def _rules_public(session, user: User) -> dict[str, Any]:
    rules = session.get(HistoryRules, 1)
    scope = access.partner_scope(user)
    if scope is None:
        n = session.scalar(select(func.count()).select_from(HistorySeries))
    else:
        n = session.scalar(select(func.count()).select_from(visible_series_query(scope).subquery()))
    return {
        "key_columns": list(rules.key_columns) if rules else None,
        "declared_by": session.get(User, rules.declared_by_id).name if rules and rules.declared_by_id else None,
        "from_upload_id": rules.from_upload_id if rules else None,
        "updated_at": rules.updated_at if rules else None,
        "series": n,
    }


@router.get("/rules", response_model=RulesPublic, summary="The shared history's rules (key columns)")
def get_rules(user: AuthorizedUser, session: SessionDep):
    return _rules_public(session, user)


@router.put("/rules", response_model=RulesPublic, summary="Declare the key columns (before any history is stored)",
            responses=CONFLICT)
def put_rules(body: RulesUpdate, user: AuthorizedUser, session: SessionDep, settings: SettingsDep):
    cols = [c.strip() for c in body.key_columns]
    for i, c in enumerate(cols):
        if c in ("date", "quantity"):
            raise HTTPException(422, detail=[{"field": f"body.key_columns.{i}", "loc": ["body", "key_columns", i],
                                              "msg": "a key column may not be called date or quantity", "type": "value_error"}])
        if c in cols[:i]:
            raise HTTPException(422, detail=[{"field": f"body.key_columns.{i}", "loc": ["body", "key_columns", i],
                                              "msg": f"column {c!r} named twice", "type": "value_error"}])
    if len(cols) > settings.max_upload_columns - 2:
        raise HTTPException(422, detail=[{"field": "body.key_columns", "loc": ["body", "key_columns"],
                                          "msg": f"at most {settings.max_upload_columns - 2} key columns "
                                                 "(JOINTPLAN_MAX_UPLOAD_COLUMNS less date and quantity)",
                                          "type": "value_error"}])
    current = key_columns(session)
    if current == cols:
        return _rules_public(session, user)
    if session.scalar(select(func.count()).select_from(HistorySeries)):
        raise HTTPException(409, detail=f"the key columns are fixed ({', '.join(current or [])}): the shared history "
                                        "already holds series; they cannot change")
    rules = session.get(HistoryRules, 1)
    if rules is None:
        session.add(HistoryRules(id=1, key_columns=cols, declared_by_id=user.id, updated_at=utcnow()))
    else:
        rules.key_columns, rules.declared_by_id, rules.from_upload_id, rules.updated_at = cols, user.id, None, utcnow()
    from api.errors import commit_or_conflict

    commit_or_conflict(session, "the key columns were fixed concurrently; read them again")
    return _rules_public(session, user)


def _series_public(session, s: HistorySeries, keys: list[str], staff: bool) -> dict[str, Any]:
    shared = None
    if staff:
        shared = sorted(session.scalars(select(SeriesShare.partner_id).where(SeriesShare.series_pk == s.id)))
    return {
        "series": s.series_id, "keys": dict(zip(keys, s.key_values)), "owner": s.owner_partner_id,
        "owner_declared_by": session.get(User, s.owner_declared_by_id).name if s.owner_declared_by_id else None,
        "shared_with": shared, "created_at": s.created_at,
    }


@router.get("/series", response_model=PageOf[SeriesPublic], summary="Series of the shared history and their owners")
def list_series(
    user: AuthorizedUser, session: SessionDep, page: PageDep,
    owner: Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                       description="Only the series this partner owns")] = None,
):
    q = select(HistorySeries)
    scope = access.partner_scope(user)
    if scope is not None:
        q = q.where(HistorySeries.series_id.in_(visible_series_query(scope)))
    if owner is not None:
        q = q.where(HistorySeries.owner_partner_id == owner)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.scalars(q.order_by(HistorySeries.series_id).limit(page.limit).offset(page.offset)).all()
    keys = key_columns(session) or []
    return {"items": [_series_public(session, s, keys, scope is None) for s in rows], "total": total,
            "limit": page.limit, "offset": page.offset}


def _series_or_new(session, series: str, user: User) -> HistorySeries:
    """The named series; a new one (no rows yet) when the key columns are fixed and it splits into them."""
    s = session.scalar(select(HistorySeries).where(HistorySeries.series_id == series))
    if s is not None:
        return s
    keys = key_columns(session)
    if keys is None:
        raise HTTPException(409, detail="the key columns are not fixed yet: declare them (PUT /history/rules) or "
                                        "upload history first")
    values = key_values(series)
    if len(values) != len(keys) or any(not v.strip() or v != v.strip() for v in values):
        raise HTTPException(422, detail=[{"field": "body.series", "loc": ["body", "series"], "type": "value_error",
                                          "msg": f"no such series, and it does not split into the key columns "
                                                 f"{', '.join(keys)} (values joined by '/')"}])
    return HistorySeries(series_id=series, key_values=values)


def _partner_or_404(session, partner_id: str, field: str) -> None:
    if session.get(PartnerRecord, partner_id) is None:
        raise HTTPException(404, detail=[{"field": field, "loc": field.split("."), "msg": f"no partner {partner_id!r}",
                                          "type": "not_found"}])


@router.put("/series/owner", response_model=SeriesPublic, summary="Declare the owner of a series",
            responses={**NOT_FOUND, **CONFLICT})
def put_owner(body: OwnerDeclaration, user: AuthorizedUser, session: SessionDep):
    """From now on only the declared owner's rows of the series count (earlier rows of another
    partner stay in the lineage); the new owner no longer needs a share to see it."""
    _partner_or_404(session, body.partner_id, "body.partner_id")
    s = _series_or_new(session, body.series, user)
    now = utcnow()
    lock_rules(session)
    s.owner_partner_id, s.owner_declared_by_id, s.updated_at = body.partner_id, user.id, now
    if s.id is None:
        s.created_at = now
        session.add(s)
    else:  # the new owner's rows count from now on
        session.flush()
        refresh_current(session, [s.id])
    from api.errors import commit_or_conflict

    commit_or_conflict(session, f"series {body.series} was created concurrently; retry")
    return _series_public(session, s, key_columns(session) or [], True)


@router.put("/series/shares", response_model=SeriesPublic, summary="Set the partners that see a series",
            responses={**NOT_FOUND, **CONFLICT})
def put_shares(body: SharesUpdate, user: AuthorizedUser, session: SessionDep):
    s = session.scalar(select(HistorySeries).where(HistorySeries.series_id == body.series))
    if s is None:
        raise access.not_found("series", body.series)
    wanted = list(dict.fromkeys(p for p in body.partner_ids if p != s.owner_partner_id))
    for i, p in enumerate(body.partner_ids):
        _partner_or_404(session, p, f"body.partner_ids.{i}")
    session.execute(delete(SeriesShare).where(SeriesShare.series_pk == s.id))
    for p in wanted:
        session.add(SeriesShare(series_pk=s.id, partner_id=p, created_by_id=user.id))
    from api.errors import commit_or_conflict

    commit_or_conflict(session, f"the shares of {body.series} changed concurrently; retry")
    return _series_public(session, s, key_columns(session) or [], True)


@router.get("/lineage", response_model=Lineage, summary="Every version of each date of a series",
            responses=NOT_FOUND)
def get_lineage(
    series: SeriesQuery, user: AuthorizedUser, session: SessionDep, page: PageDep,
    current: Annotated[bool | None, Query(description="true: only the version every read uses (one per date); "
                                                      "false: only the versions it does not use")] = None,
):
    s = session.scalar(select(HistorySeries).where(HistorySeries.series_id == series))
    scope = access.partner_scope(user)
    if s is None or not may_see(session, scope, s):
        raise access.not_found("series", series)
    p, u = HistoryPoint, DataUpload
    q = select(p, u).join(u, u.id == p.upload_id).where(p.series_pk == s.id)
    if scope is not None:  # a partner: the owner's versions and its own, not other partners' uploads
        q = q.where(u.partner_id.in_([s.owner_partner_id, scope]))
    if current is not None:
        q = q.where(p.current.is_(current))
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    rows = session.execute(q.order_by(p.date, p.id).limit(page.limit).offset(page.offset)).all()
    names: dict[int, str] = {}

    def name(uid: int) -> str:
        if uid not in names:
            names[uid] = session.get(User, uid).name
        return names[uid]

    items = [{
        "date": pt.date, "quantity": pt.quantity, "upload_id": up.id, "partner_id": up.partner_id,
        "author": name(up.uploader_id), "uploaded_at": up.created_at, "retracted": up.retracted_at is not None,
        "retracted_at": up.retracted_at, "from_owner": up.partner_id == s.owner_partner_id, "current": pt.current,
    } for pt, up in rows]
    return {"series": s.series_id, "owner": s.owner_partner_id, "items": items, "total": total,
            "limit": page.limit, "offset": page.offset}
