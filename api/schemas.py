"""Field types and small schemas shared by the routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

Ident = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$",
                             description="Identifier: letters, digits, _ . - (up to 64), starting with a letter or digit")]
# free text: no NUL characters (PostgreSQL cannot store them)
Text = Annotated[str, Field(max_length=5000, pattern=r"^[^\x00]*$", description="Free text")]
ShortText = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$", description="Text, not blank")]


class Out(BaseModel):
    """Base of response schemas (read from ORM rows)."""

    model_config = ConfigDict(from_attributes=True)


class PageOf(BaseModel, Generic[T]):
    """One page of a list."""

    model_config = ConfigDict(json_schema_extra={"description": "One page of a list"})
    items: list[T] = Field(description="The items of this page")
    total: int = Field(ge=0, description="Items in the whole list (visible to the caller)")
    limit: int = Field(ge=1, description="Page size used")
    offset: int = Field(ge=0, description="Items skipped before this page")


def page_of(session, query, page, order_by, to_public=lambda row: row) -> dict:
    """One page of ``query`` (a SQLAlchemy select of ORM rows): ``{items, total, limit, offset}``,
    items ordered by ``order_by`` (a column or a tuple of columns) and mapped by ``to_public``."""
    from sqlalchemy import func, select

    total = session.scalar(select(func.count()).select_from(query.subquery()))
    order = order_by if isinstance(order_by, tuple) else (order_by,)
    rows = session.scalars(query.order_by(*order).limit(page.limit).offset(page.offset)).all()
    return {"items": [to_public(r) for r in rows], "total": total, "limit": page.limit, "offset": page.offset}


class Stamp(Out):
    created_at: datetime = Field(description="When it was created [UTC]")
