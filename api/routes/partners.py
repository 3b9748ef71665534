"""Partners of the chain. Admins create them; everyone lists them (a partner user sees only its own)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep
from api.errors import CONFLICT, NOT_FOUND, commit_or_conflict
from api.models import PartnerRecord
from forecasting.submissions import STATISTICAL
from api.schemas import Ident, Out, PageOf, ShortText, page_of

router = APIRouter(prefix="/partners", tags=["partners"], route_class=StrictJSONRoute)

PartnerRole = Literal["manufacturer", "wholesaler", "transporter", "retailer"]
PartnerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                                description="Partner id (as in the scenarios)")]


class PartnerCreate(BaseModel):
    """A new partner."""

    model_config = {"json_schema_extra": {"examples": [{"id": "shops", "name": "Shops Ltd", "role": "retailer"}]}}
    id: Ident = Field(description="Partner id, the same as the partner's id in scenarios")
    name: ShortText = Field(description="Company name")
    role: PartnerRole | None = Field(None, description="Role in the chain")


class PartnerPublic(Out):
    """A partner."""

    id: str = Field(description="Partner id")
    name: str = Field(description="Company name")
    role: str | None = Field(description="Role in the chain, if known")
    created_at: datetime = Field(description="When it was registered [UTC]")
    disabled: bool = Field(description="A disabled partner's users are refused (401) on every route")


access.register("GET", "/partners", access.ALL_ROLES, partner_filtered=True, note="a partner sees only itself")
access.register("POST", "/partners", {"admin"})
access.register("GET", "/partners/{partner_id}", access.ALL_ROLES, obj="partner", partner_owned=True)
access.register("POST", "/partners/{partner_id}/disable", {"admin"}, obj="partner",
                note="its users' tokens are refused (401) until it is enabled again")
access.register("POST", "/partners/{partner_id}/enable", {"admin"}, obj="partner")


@router.get("", response_model=PageOf[PartnerPublic], summary="List partners")
def list_partners(user: AuthorizedUser, session: SessionDep, page: PageDep):
    q = select(PartnerRecord)
    scope = access.partner_scope(user)
    if scope is not None:
        q = q.where(PartnerRecord.id == scope)
    return page_of(session, q, page, PartnerRecord.id)


@router.post("", response_model=PartnerPublic, status_code=status.HTTP_201_CREATED, summary="Register a partner",
             responses=CONFLICT)
def create_partner(body: PartnerCreate, user: AuthorizedUser, session: SessionDep):
    if body.id == STATISTICAL:
        raise HTTPException(422, detail=[{"field": "body.id", "loc": ["body", "id"], "type": "value_error",
                                          "msg": f"{STATISTICAL!r} is reserved for the statistical forecast"}])
    if session.get(PartnerRecord, body.id) is not None:
        raise HTTPException(409, detail=f"id: partner {body.id!r} already exists")
    partner = PartnerRecord(id=body.id, name=body.name, role=body.role)
    session.add(partner)
    commit_or_conflict(session, f"id: partner {body.id!r} already exists")
    return partner


@router.get("/{partner_id}", response_model=PartnerPublic, summary="One partner", responses=NOT_FOUND)
def get_partner(partner_id: PartnerId, user: AuthorizedUser, session: SessionDep):
    access.own_partner_or_404(user, partner_id, "partner", partner_id)
    partner = session.get(PartnerRecord, partner_id)
    if partner is None:
        raise access.not_found("partner", partner_id)
    return partner


def _set_disabled(session, partner_id: str, disabled: bool) -> PartnerRecord:
    partner = session.get(PartnerRecord, partner_id)
    if partner is None:
        raise access.not_found("partner", partner_id)
    partner.disabled = disabled
    session.commit()
    return partner


@router.post("/{partner_id}/disable", response_model=PartnerPublic, summary="Disable a partner: its users are refused",
             responses=NOT_FOUND)
def disable_partner(partner_id: PartnerId, user: AuthorizedUser, session: SessionDep):
    """Every token of the partner's users is refused (401) until the partner is enabled again;
    no new user or token can be made for it meanwhile. Its data stay as they are."""
    return _set_disabled(session, partner_id, True)


@router.post("/{partner_id}/enable", response_model=PartnerPublic, summary="Enable a disabled partner again",
             responses=NOT_FOUND)
def enable_partner(partner_id: PartnerId, user: AuthorizedUser, session: SessionDep):
    """The partner's users' tokens (those not revoked meanwhile) are accepted again."""
    return _set_disabled(session, partner_id, False)
