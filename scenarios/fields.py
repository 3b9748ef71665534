"""Field helpers and the problem record shared by the scenario schema and the finance spec.

Kept free of imports from the rest of the project so that :mod:`scenarios.schema` can embed
models from :mod:`finance.instruments` (the scenario's optional ``finance`` section) while those
models reuse the same helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Union

from pydantic import Field

Series = Union[float, list[float]]
"""A number constant over the horizon, or one number per period (length T)."""

ProductSeries = Union[float, list[float], dict[str, Union[float, list[float]]]]
"""A Series for every product, or a mapping of product id to Series."""

Identifier = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$"),
]


def _field(default: Any = ..., *, unit: str | None = None, description: str, **kwargs: Any) -> Any:
    """A pydantic Field whose description states the unit and whose schema carries it."""
    extra = dict(kwargs.pop("json_schema_extra", {}) or {})
    text = description
    if unit:
        extra["unit"] = unit
        text = f"{description} [{unit}]"
    return Field(default, description=text, json_schema_extra=extra or None, **kwargs)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "severity": self.severity}
