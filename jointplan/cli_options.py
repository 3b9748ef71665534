"""Checks for numeric command-line options: finite and inside their range, else exit 2.

``typer.Option(min=, max=)`` lets ``nan`` through (every comparison with nan is false) and has no
open bounds, so each numeric float option takes ``callback=number(...)``: a value that is not
finite or out of range is refused by click as a usage error (exit code 2) with the message
``Invalid value for '--OPTION': REASON``.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Optional

import typer


def _fmt(x: float) -> str:
    return f"{x:g}"


def number(
    *, gt: Optional[float] = None, ge: Optional[float] = None, lt: Optional[float] = None, le: Optional[float] = None
) -> Callable[[Any, Any, Optional[float]], Optional[float]]:
    """A click callback refusing non-finite values and values outside ``gt/ge .. lt/le``."""

    def check(_ctx: Any, _param: Any, value: Optional[float]) -> Optional[float]:
        if value is None:
            return value
        if not math.isfinite(value):
            raise typer.BadParameter(f"{value} is not a finite number")
        if gt is not None and not value > gt:
            raise typer.BadParameter(f"{_fmt(value)} is not greater than {_fmt(gt)}")
        if ge is not None and not value >= ge:
            raise typer.BadParameter(f"{_fmt(value)} is less than {_fmt(ge)}")
        if lt is not None and not value < lt:
            raise typer.BadParameter(f"{_fmt(value)} is not less than {_fmt(lt)}")
        if le is not None and not value <= le:
            raise typer.BadParameter(f"{_fmt(value)} is greater than {_fmt(le)}")
        return value

    return check


positive = number(gt=0)
"""A finite number > 0 (time limits, intervals)."""

fraction = number(ge=0, le=1)
"""A finite number in [0, 1] (relative gaps)."""

finite = number()
"""Any finite number."""

service_level_range = number(ge=0.5, le=0.9999)
"""A cycle service level: a finite number in [0.5, 0.9999]."""
