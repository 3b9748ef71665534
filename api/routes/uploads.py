"""Shared sales history: partners upload CSV or JSON tables; every upload is kept with who and when.

Every series of the shared history has an owner (the partner that first shared it, unless an
admin/planner declared another, see ``/history``): an upload holding a row of a series owned by
another partner is refused whole (409 naming the series). The key columns are fixed once (declared,
or those of the first accepted upload); an upload with other key columns is 422 naming them. Each
row becomes a point (a version) of its series: a later upload by the owner corrects a value, and
the owner can retract an upload (``POST /uploads/{id}/retract``); reads use the latest point of
the owner from a non-retracted upload. Limits: ``JOINTPLAN_MAX_UPLOAD_COLUMNS`` (checked on the
header), ``JOINTPLAN_MAX_UPLOAD_ROWS`` and ``JOINTPLAN_MAX_UPLOAD_CELLS``.

An ``Idempotency-Key`` header makes a retried upload apply once, even when the copies arrive at
the same time: the first creates the upload (201), the others get it back (200,
``Idempotent-Replayed: true``); the same key with a different body is refused (409).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from api import access
from api.deps import AuthorizedUser, PageDep, RawBody, SessionDep, SettingsDep
from api.errors import NOT_FOUND
from api.history import (Limits, check_history, conform_keys, content_hash, key_columns, lock_rules, parse_table,
                         refresh_current, store_upload, upload_rows)
from api.models import DataUpload, HistoryPoint, PartnerRecord, User, utcnow
from api.schemas import Out, PageOf, page_of
from api.tables import digest, table_body

router = APIRouter(prefix="/uploads", tags=["uploads"])

UploadId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Upload id")]
PartnerQuery = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                           description="Partner whose data it is (a partner user: its own, the default)")]
IdempotencyKey = Annotated[str | None, Header(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$",
                                              description="Client key: the same upload sent again is applied once")]

TABLE_BODY = table_body("A table with a date column, a quantity column and key columns (every other column).", [
    {"product": "widget", "site": "store-north", "date": "2026-01-01", "quantity": 703},
    {"product": "widget", "site": "store-north", "date": "2026-02-01", "quantity": 611},
])


class UploadPublic(Out):
    """An upload of sales history (without its rows)."""

    id: int = Field(description="Upload id")
    partner_id: str = Field(description="Partner whose data it is")
    uploader: str = Field(description="Name of the user who uploaded it")
    created_at: datetime = Field(description="When it was uploaded [UTC]")
    format: str = Field(description="csv or json")
    row_count: int = Field(description="Rows stored [rows]")
    keys: list[str] = Field(description="Key columns (series = keys joined by '/')")
    content_hash: str = Field(description="SHA-256 of the stored rows")
    idempotency_key: str | None = Field(description="The Idempotency-Key it was sent with")
    retracted_at: datetime | None = Field(None, description="When its owner retracted it [UTC]; its rows no longer count")
    retracted_by: str | None = Field(None, description="Name of the user who retracted it (None: the 0003 migration, "
                                                       "for an upload whose key columns differed)")


class UploadDetail(UploadPublic):
    """An upload with its rows."""

    rows: list[dict[str, Any]] = Field(description="The rows: key columns, date (ISO), quantity [units]")


access.register("POST", "/uploads", {"admin", "planner", "partner"}, partner_owned=True,
                note="a partner uploads only its own data")
access.register("GET", "/uploads", {"admin", "planner", "partner"}, partner_filtered=True)
access.register("GET", "/uploads/{upload_id}", {"admin", "planner", "partner"}, obj="upload", partner_owned=True)
access.register("POST", "/uploads/{upload_id}/retract", {"admin", "planner", "partner"}, obj="upload",
                partner_owned=True, note="a partner retracts only its own uploads")


def public(up: DataUpload, session, rows: bool = False) -> dict[str, Any]:
    out = {c: getattr(up, c) for c in ("id", "partner_id", "created_at", "format", "row_count", "keys",
                                       "content_hash", "idempotency_key")}
    out["uploader"] = session.get(User, up.uploader_id).name
    out["retracted_at"] = up.retracted_at
    out["retracted_by"] = session.get(User, up.retracted_by_id).name if up.retracted_by_id else None
    if rows:
        out["rows"] = upload_rows(session, up)
    return out


def target_partner(user: User, session, partner_id: str | None) -> str:
    """The partner a write is for: a partner user's own (another's looks absent); others must name one."""
    if partner_id is None:
        if user.role == "partner":
            return user.partner_id
        raise HTTPException(422, detail=[{"field": "query.partner_id", "loc": ["query", "partner_id"],
                                          "msg": "required for a non-partner user", "type": "missing"}])
    access.own_partner_or_404(user, partner_id, "partner", partner_id)
    if session.get(PartnerRecord, partner_id) is None:
        raise access.not_found("partner", partner_id)
    return partner_id


@router.post("", response_model=UploadPublic, status_code=201, summary="Upload sales history (CSV or JSON)",
             openapi_extra={"requestBody": TABLE_BODY},
             responses={200: {"model": UploadPublic, "description": "Replay of an earlier upload with this Idempotency-Key"},
                        409: {"description": "A series of the upload belongs to another partner (each named), or "
                                             "the Idempotency-Key was used with another body"},
                        **NOT_FOUND, 413: {"description": "Past a limit: body size, rows or cells, or the shared history's "
                                                              "current points (the detail names it)"},
                        415: {"description": "Body neither text/csv nor application/json"}})
def create_upload(
    request: Request,
    body: RawBody,
    response: Response,
    user: AuthorizedUser,
    session: SessionDep,
    settings: SettingsDep,
    partner_id: PartnerQuery = None,
    idempotency_key: IdempotencyKey = None,
    date_column: Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[^\x00]+$",
                                      description="Column holding the date")] = "date",
    quantity_column: Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[^\x00]+$",
                                          description="Column holding the quantity sold [units]")] = "quantity",
):
    partner = target_partner(user, session, partner_id)
    request_hash = digest([partner, request.headers.get("content-type", ""), body.hex(), date_column, quantity_column])
    if idempotency_key is not None:
        existing = _by_key(session, partner, idempotency_key)
        if existing is not None:
            return _replay(existing, request_hash, response, session)
    table = parse_table(request.headers.get("content-type"), body, Limits.of(settings))
    checked = check_history(table, date_column, quantity_column)
    digest_of_rows = None
    for attempt in range(3):  # a concurrent first upload may fix the keys or take a new series first
        hist = conform_keys(checked, key_columns(session))
        digest_of_rows = digest_of_rows or content_hash(hist)
        upload = DataUpload(partner_id=partner, uploader_id=user.id, format=table.format, row_count=len(hist.dates),
                            content_hash=digest_of_rows, idempotency_key=idempotency_key, request_hash=request_hash,
                            keys=hist.keys, rows=[])
        try:
            store_upload(session, upload, hist, staff=user.role != "partner", max_points=settings.max_history_points)
            session.commit()
            break
        except HTTPException:
            session.rollback()
            raise
        except IntegrityError:
            session.rollback()
            existing = _by_key(session, partner, idempotency_key) if idempotency_key else None
            if existing is not None:
                return _replay(existing, request_hash, response, session)
    else:
        raise HTTPException(409, detail="concurrent uploads of the same new series or key columns; retry")
    response.headers["Location"] = f"/uploads/{upload.id}"
    return public(upload, session)


def _by_key(session, partner: str, key: str) -> DataUpload | None:
    return session.scalar(select(DataUpload).where(DataUpload.partner_id == partner, DataUpload.idempotency_key == key))


def _replay(existing: DataUpload, request_hash: str, response: Response, session) -> dict[str, Any]:
    if existing.request_hash != request_hash:
        raise HTTPException(409, detail=f"Idempotency-Key: already used for upload {existing.id} with a different request")
    response.status_code = 200
    response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/uploads/{existing.id}"
    return public(existing, session)


@router.get("", response_model=PageOf[UploadPublic], summary="List uploads (a partner: its own)")
def list_uploads(user: AuthorizedUser, session: SessionDep, page: PageDep, partner_id: PartnerQuery = None):
    q = select(DataUpload)
    scope = access.partner_scope(user)
    if scope is not None:
        q = q.where(DataUpload.partner_id == scope)
    if partner_id is not None:
        q = q.where(DataUpload.partner_id == partner_id)
    return page_of(session, q, page, DataUpload.id, lambda u: public(u, session))


@router.get("/{upload_id}", response_model=UploadDetail, summary="One upload with its rows", responses=NOT_FOUND)
def get_upload(upload_id: UploadId, user: AuthorizedUser, session: SessionDep):
    up = session.get(DataUpload, upload_id)
    if up is None:
        raise access.not_found("upload", upload_id)
    access.own_partner_or_404(user, up.partner_id, "upload", upload_id)
    return public(up, session, rows=True)


@router.post("/{upload_id}/retract", response_model=UploadPublic, summary="Retract an upload (its owner)",
             responses={**NOT_FOUND, 409: {"description": "Already retracted"}})
def retract_upload(upload_id: UploadId, user: AuthorizedUser, session: SessionDep):
    """The upload's rows stop counting (the previous version of each of its series-dates counts
    again); the upload stays, with who retracted it and when, and its rows stay in the lineage."""
    up = session.get(DataUpload, upload_id)
    if up is None:
        raise access.not_found("upload", upload_id)
    access.own_partner_or_404(user, up.partner_id, "upload", upload_id)
    if up.retracted_at is not None:
        raise HTTPException(409, detail=f"upload {upload_id} was already retracted at {up.retracted_at.isoformat()}")
    lock_rules(session)
    up.retracted_at, up.retracted_by_id = utcnow(), user.id
    session.flush()
    refresh_current(session, session.scalars(select(HistoryPoint.series_pk).where(HistoryPoint.upload_id == up.id)
                                             .distinct()).all())
    session.commit()
    return public(up, session)
