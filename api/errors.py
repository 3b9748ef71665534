"""Error bodies and the documented error responses shared by every route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    """An error: what went wrong, naming the field where there is one."""

    detail: Any = Field(description="The reason: a message, or a list of {field, loc, msg, type} for invalid input")


class FieldError(BaseModel):
    """One invalid input field."""

    field: str = Field(description="Where: body.<path>, query.<name>, path.<name> or header.<name>")
    loc: list[str | int] = Field(description="The same location as a list")
    msg: str = Field(description="Why the value was refused")
    type: str = Field(description="Error type")


class ValidationErrorBody(BaseModel):
    """Invalid input: every field at fault."""

    detail: list[FieldError] = Field(description="One entry per invalid field")


def _resp(description: str, model: type[BaseModel] = ErrorBody) -> dict[str, Any]:
    return {"model": model, "description": description}


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _resp("The body cannot be read (e.g. not UTF-8 JSON)"),
    401: _resp("Missing or invalid bearer token (with `WWW-Authenticate: Bearer`)"),
    403: _resp("The caller's role may not do this"),
    413: _resp("Request body larger than the service's limit (`JOINTPLAN_MAX_BODY_BYTES`)"),
    422: _resp("Invalid input: each field named with the reason", ValidationErrorBody),
}
NOT_FOUND = {404: _resp("No such object (or not visible to the caller)")}
CONFLICT = {409: _resp("Conflicts with the stored state (e.g. a name already taken)")}
PRECONDITION = {
    412: _resp("If-Match does not name the current version: reload and retry"),
    428: _resp("If-Match header required"),
}
ERROR_RESPONSES = {**COMMON_RESPONSES}


def commit_or_conflict(session, detail: str) -> None:
    """Commit; a unique-constraint race becomes 409 with ``detail`` instead of a server error."""
    from fastapi import HTTPException
    from sqlalchemy.exc import IntegrityError

    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(409, detail=detail) from None


def commit_next_version(session, column, make, *, where=(), conflict: str, attempts: int = 10):
    """Add ``make(n)`` with n = 1 + the highest ``column`` among the rows matching ``where`` (1
    when there are none) and commit; returns the new row. A concurrent writer may commit n first
    (the version's unique constraint refuses the second): roll back and take the next number, up
    to ``attempts`` times, then 409 with ``conflict``."""
    from fastapi import HTTPException
    from sqlalchemy import func, select
    from sqlalchemy.exc import IntegrityError

    for _attempt in range(attempts):
        row = make(1 + (session.scalar(select(func.max(column)).where(*where)) or 0))
        session.add(row)
        try:
            session.commit()
            return row
        except IntegrityError:
            session.rollback()
    raise HTTPException(409, detail=conflict)
