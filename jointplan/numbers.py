"""How the CLI writes numbers on the terminal: one place, so every table and summary agrees.

``num(x, ",.0f")`` is ``format(x, ",.0f")`` except that a value that rounds to zero prints as
zero, never ``-0`` or ``-0.0`` (a solver's -1e-9 is zero; so is -0.0 itself); with a ``+`` in the
format it prints ``+0``. None, NaN and infinities print as ``-``.
"""

from __future__ import annotations

import math
from typing import Any

_ZERO_CHARS = set("0.,%_ ")


def num(x: Any, spec: str = ",.0f") -> str:
    """``x`` formatted with ``spec`` (a format spec, e.g. ``",.0f"``, ``"+.1f"``, ``".1%"``)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    text = format(x, spec)
    if text.startswith("-") and set(text[1:]) <= _ZERO_CHARS:  # negative zero after rounding
        return ("+" if "+" in spec else "") + text[1:]
    return text


def money(x: Any) -> str:
    """A money amount, whole units with thousands separators."""
    return num(x, ",.0f")


def money_exact(x: Any, currency: str) -> str:
    """A money amount with as many decimals as ``currency`` has (ISO 4217 minor units: 2 for EUR,
    0 for JPY, 3 for KWD; 2 for a code not in the table), thousands separated."""
    from api.currencies import EXPONENT

    return num(x, f",.{EXPONENT.get(currency, 2)}f")
