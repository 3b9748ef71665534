"""The amounts of an advance, in exact integers (minor units; rates in millionths).

For an invoice with open amount ``O`` (minor units) advanced on day ``a``, due on day ``d``,
under a programme of advance rate ``α``, annual rate ``r``, fee rate ``φ`` and day-count basis
``B`` (360 or 365 days):

- advance ``A = ⌊α·O⌋`` (rounded down to a minor unit);
- fee ``F = round(φ·O)`` (once, on the face value financed: the open amount);
- factoring and reverse factoring: discount ``D = round(A·r·(d − a)/B)``, deducted upfront with
  the fee: the supplier receives ``A − D − F`` on day ``a``;
- receivables line: no discount; interest ``I = round(A_out·r·n/B)`` accrues on the outstanding
  advance ``A_out`` over the ``n`` days since it was last charged, and is charged when a payment
  repays the advance (:func:`interest`).

``round`` is half up, computed on integers: ``(x + y//2) // y``. Repayment date = due date.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MICRO = 10**6
BASIS = {"actual/360": 360, "actual/365": 365}


def to_micro(value: Any) -> int:
    """A rate (Decimal, or a float read through its shortest repr) in millionths, rounded half up."""
    d = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return int(d.scaleb(6).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micro_text(micro: int) -> str:
    """Millionths as the shortest decimal string (``52500`` → ``"0.0525"``)."""
    whole, frac = divmod(micro, MICRO)
    return f"{whole}.{frac:06d}".rstrip("0").rstrip(".")


def _div_half_up(x: int, y: int) -> int:
    return (x + y // 2) // y


def advance(open_minor: int, advance_rate_micro: int) -> int:
    return open_minor * advance_rate_micro // MICRO


def fee(open_minor: int, fee_micro: int) -> int:
    return _div_half_up(open_minor * fee_micro, MICRO)


def discount(advance_minor: int, rate_micro: int, days: int, day_count: str) -> int:
    return _div_half_up(advance_minor * rate_micro * max(days, 0), BASIS[day_count] * MICRO)


interest = discount
"""Interest on an outstanding advance over ``days``: the same formula as the discount."""


def amounts(kind: str, open_minor: int, advance_rate_micro: int, rate_micro: int, fee_micro: int, day_count: str,
            advance_date: date, due_date: date) -> dict[str, int]:
    """``advance``, ``discount``, ``fee`` and ``net`` (paid to the supplier) of one invoice."""
    a = advance(open_minor, advance_rate_micro)
    f = fee(open_minor, fee_micro)
    d = 0 if kind == "receivables_line" else discount(a, rate_micro, (due_date - advance_date).days, day_count)
    return {"advance": a, "discount": d, "fee": f, "net": a - d - f}


# ----------------------------------------------------------------------------- from a scenario

SCENARIO_KINDS = {"factoring": "factoring", "reverse_factoring": "reverse_factoring",
                  "asset_based": "receivables_line"}
"""Scenario instrument ``type`` → programme kind (an asset-based line only with a receivables advance rate)."""


def _first(series: Any) -> tuple[float, str]:
    if isinstance(series, (list, tuple)):
        values = [float(v) for v in series]
        note = "" if len(set(values)) <= 1 else f" (a series over the periods: its first period's value; the others were {sorted(set(values))})"
        return (values[0] if values else 0.0), note
    return float(series), ""


def terms_from_instrument(inst: Any, periods_per_year: int) -> tuple[dict[str, Any], list[str]]:
    """A programme's terms from a scenario instrument (Factoring, ReverseFactoring, or an
    AssetBasedLine, type asset_based, lending on receivables) and the notes explaining each conversion.

    A period rate ``r_p`` becomes the annual rate ``r = r_p × P`` (``P`` periods a year: 12
    monthly, 52 weekly): simple, not compounded, as the planner charges it per period on the
    balance; its day count is actual/365 (a year of ``P`` periods). Rates are rounded half up to
    millionths."""
    kind = SCENARIO_KINDS.get(inst.type)
    if kind is None or (inst.type == "asset_based" and not inst.receivables_advance_rate > 0):
        raise ValueError(f"instrument {inst.id!r} ({inst.type}) is not factoring, reverse factoring or a "
                         "receivables-based line")
    notes = []
    period_rate, series_note = _first(inst.discount_rate if inst.type == "factoring" else inst.rate)
    annual = to_micro(Decimal(repr(period_rate)) * periods_per_year)
    notes.append(f"annual rate {micro_text(annual)} = the instrument's rate {period_rate:g} a period × "
                 f"{periods_per_year} periods a year (simple, not compounded), day count actual/365{series_note}")
    if inst.type == "asset_based":
        adv = to_micro(inst.receivables_advance_rate)
        notes.append(f"advance rate {micro_text(adv)} = the line's receivables_advance_rate; no fee (a line has a "
                     "commitment fee on its limit, not a fee per invoice)")
        fee_micro = 0
    else:
        adv, fee_micro = to_micro(inst.advance_rate), to_micro(inst.fee)
        notes.append(f"advance rate {micro_text(adv)} and fee {micro_text(fee_micro)} as the instrument's")
    out: dict[str, Any] = {"kind": kind, "advance_rate_micro": adv, "rate_micro": annual, "fee_micro": fee_micro,
                           "day_count": "actual/365"}
    if inst.type == "reverse_factoring":
        out["buyer_id"] = inst.buyer
        notes.append(f"buyer {inst.buyer}: the instrument's buyer running the programme")
    if getattr(inst, "max_age_days", None) is not None:
        out["max_invoice_age_days"] = int(inst.max_age_days)
        notes.append(f"max invoice age {int(inst.max_age_days)} days: the instrument's max_age_days")
    limit = getattr(inst, "limit", None)
    if limit is not None:
        value, note = _first(limit)
        out["limit"] = value
        notes.append(f"limit {value:g} (currency units) from the instrument's limit{note}: "
                     + ("the programme limit" if inst.type == "reverse_factoring" else "the default supplier limit"))
    return out, notes
