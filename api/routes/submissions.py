"""Partners' own forecasts, kept as versions (1, 2, ... per partner) with author and time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from api import access
from api.deps import AuthorizedUser, PageDep, RawBody, SessionDep, SettingsDep
from api.errors import NOT_FOUND
from api.models import ForecastSubmission, User
from api.routes.uploads import PartnerQuery, target_partner
from api.schemas import Out, PageOf
from api.store import DatabaseStore
from api.tables import field_errors, read_body_table, table_body
from forecasting.submissions import SubmissionError
from forecasting.workflow import submit_forecast

router = APIRouter(prefix="/submissions", tags=["submissions"])

SubmissionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Submission id")]
FORECAST_BODY = table_body(
    "The partner's forecast: key columns (or unique_id), a date column (ds or date) and a value column (value, p50 "
    "or quantity).", [
        {"product": "widget", "site": "store-north", "date": "2027-01-01", "value": 813},
        {"product": "widget", "site": "store-north", "date": "2027-02-01", "value": 880},
    ], what="forecast table")


class SubmissionPublic(Out):
    """A version of a partner's forecast (without its rows)."""

    id: int = Field(description="Submission id")
    partner_id: str = Field(description="Partner whose forecast it is")
    version: int = Field(description="Version number, counting up from 1 per partner")
    author: str = Field(description="Name of the user who submitted it")
    created_at: datetime = Field(description="When it was submitted [UTC]")
    note: str = Field(description="Free text from the submitter")
    row_count: int = Field(description="Series-periods stored [rows]")
    keys: list[str] = Field(description="Key columns kept beside unique_id")
    content_hash: str = Field(description="SHA-256 of the stored rows")


class SubmissionDetail(SubmissionPublic):
    """A submission with its rows."""

    rows: list[dict[str, Any]] = Field(description="unique_id, ds (ISO date), value [units per period], key columns")


access.register("POST", "/submissions", {"admin", "planner", "partner"}, partner_owned=True,
                note="a partner submits only its own forecast")
access.register("GET", "/submissions", {"admin", "planner", "partner"}, partner_filtered=True)
access.register("GET", "/submissions/{submission_id}", {"admin", "planner", "partner"}, obj="submission",
                partner_owned=True)


def public(sub: ForecastSubmission, session, rows: bool = False, author: str | None = None) -> dict[str, Any]:
    out = {c: getattr(sub, c) for c in ("id", "partner_id", "version", "created_at", "note", "row_count", "keys",
                                        "content_hash")}
    out["author"] = author if author is not None else session.get(User, sub.author_id).name
    if rows:
        out["rows"] = sub.rows
    return out


@router.post("", response_model=SubmissionPublic, status_code=201, summary="Submit a forecast as the next version",
             openapi_extra={"requestBody": FORECAST_BODY},
             responses={**NOT_FOUND, 415: {"description": "Body neither text/csv nor application/json"}})
def create_submission(
    request: Request,
    response: Response,
    body: RawBody,
    user: AuthorizedUser,
    session: SessionDep,
    settings: SettingsDep,
    partner_id: PartnerQuery = None,
    freq: Annotated[Literal["W", "M"] | None, Query(description="Sum the values into weeks (W) or months (M)")] = None,
    note: Annotated[str, Query(max_length=2000, pattern=r"^[^\x00]*$", description="Free text kept with the version")] = "",
    keys: Annotated[str | None, Query(max_length=500, pattern=r"^[^\x00]+$",
                                      description="Key columns, comma-separated (default: every column but date and value)")] = None,
):
    partner = target_partner(user, session, partner_id)
    df, _fmt, _extra = read_body_table(request.headers.get("content-type"), body, settings)
    key_list = [k.strip() for k in keys.split(",") if k.strip()] if keys else None
    try:
        sub = submit_forecast(DatabaseStore(session, user), partner, df, author=user.name, keys=key_list, freq=freq,
                              note=note)
    except SubmissionError as exc:
        raise HTTPException(422, detail=field_errors(exc.problems)) from None
    response.headers["Location"] = f"/submissions/{sub.id}"
    return public(sub, session)


@router.get("", response_model=PageOf[SubmissionPublic], summary="List submissions (a partner: its own)")
def list_submissions(user: AuthorizedUser, session: SessionDep, page: PageDep, partner_id: PartnerQuery = None):
    q = select(ForecastSubmission)
    scope = access.partner_scope(user)
    if scope is not None:
        q = q.where(ForecastSubmission.partner_id == scope)
    if partner_id is not None:
        q = q.where(ForecastSubmission.partner_id == partner_id)
    total = session.scalar(select(func.count()).select_from(q.subquery()))
    # one query for the page: the submissions without their rows, with the authors' names
    rows = session.execute(q.add_columns(User.name).join(User, User.id == ForecastSubmission.author_id)
                           .options(defer(ForecastSubmission.rows))
                           .order_by(ForecastSubmission.partner_id, ForecastSubmission.version)
                           .limit(page.limit).offset(page.offset)).all()
    return {"items": [public(s, session, author=name) for s, name in rows], "total": total, "limit": page.limit,
            "offset": page.offset}


@router.get("/{submission_id}", response_model=SubmissionDetail, summary="One submission with its rows",
            responses=NOT_FOUND)
def get_submission(submission_id: SubmissionId, user: AuthorizedUser, session: SessionDep):
    sub = session.get(ForecastSubmission, submission_id)
    if sub is None:
        raise access.not_found("submission", submission_id)
    access.own_partner_or_404(user, sub.partner_id, "submission", submission_id)
    return public(sub, session, rows=True)
