"""Borrowing-base arithmetic: which receivables a lender counts, and what it lends against them.

Eligibility follows the usual asset-based lending certificate:

1. gross receivables;
2. minus receivables older than the age cut-off (e.g. over 90 days from invoice);
3. minus receivables of excluded customers (affiliates, government, ...);
4. minus, per customer, the part above the concentration limit: ``limit x`` the receivables that
   passed steps 2-3 (only customers that are named count; unnamed receivables are exempt);
5. = eligible receivables; eligible inventory = inventory at cost x (1 - ineligible share:
   obsolete, consigned, in transit); availability = advance rate x eligible receivables +
   inventory advance rate x eligible inventory - reserves - inventory reserve, at least 0, capped by
   the facility limit. The inventory reserve comes off the whole base, as the planning model
   applies it (flooring it at the inventory part would not be linear when inventory is a plan
   variable).
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

import pandas as pd

UNNAMED = "(unspecified)"

_RANGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-|–|to)\s*(\d+(?:\.\d+)?)\s*(?:days?)?\s*$", re.IGNORECASE)
_OPEN = re.compile(r"^\s*(?:>\s*|over\s+|more than\s+)?(\d+(?:\.\d+)?)\s*(\+)?\s*(?:days?)?\s*$", re.IGNORECASE)


def parse_age_bucket(label: Any) -> float:
    """The oldest age in days of an ageing bucket: '0-30' -> 30, '61-90' -> 90, '91+', '>90',
    'over 90' -> inf, a number -> itself (the receivable's age)."""
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return math.nan
    if isinstance(label, (int, float)):
        return float(label)
    text = str(label).strip()
    m = _RANGE.match(text)
    if m:
        return float(m.group(2))
    m = _OPEN.match(text)
    if m:
        open_ended = m.group(2) is not None or text.lstrip().startswith((">", "over", "Over", "more", "More"))
        return math.inf if open_ended else float(m.group(1))
    raise ValueError(f"cannot read ageing bucket {label!r}; use e.g. '0-30', '31-60', '61-90', '91+' or a number of days")


def eligible_receivables(
    detail: pd.DataFrame | Iterable[dict[str, Any]],
    *,
    max_age_days: float | None = None,
    concentration_limit: float | None = None,
    excluded_customers: Iterable[str] = (),
    only_customers: Iterable[str] | None = None,
) -> dict[str, Any]:
    """Eligible receivables of one partner at one date from rows ``customer, age_days, amount``.

    Returns the steps of the calculation: ``gross``, ``over_age``, ``excluded``,
    ``concentration_excess`` (and per customer ``by_customer``), ``eligible``. Rows with an unknown
    age pass the age test; rows without a customer are exempt from the concentration test.
    ``only_customers`` restricts the pool to those customers (others count as excluded).
    """
    df = pd.DataFrame(list(detail) if not isinstance(detail, pd.DataFrame) else detail)
    if df.empty:
        return {"gross": 0.0, "over_age": 0.0, "excluded": 0.0, "concentration_excess": 0.0,
                "eligible": 0.0, "by_customer": {}}
    customer = df["customer"].where(df["customer"].notna(), UNNAMED).astype(str) if "customer" in df else pd.Series(UNNAMED, index=df.index)
    age = pd.to_numeric(df["age_days"], errors="coerce") if "age_days" in df else pd.Series(math.nan, index=df.index)
    amount = df["amount"].astype(float)
    gross = float(amount.sum())
    aged = age.notna() & (age > max_age_days) if max_age_days is not None else pd.Series(False, index=df.index)
    excluded_set = set(excluded_customers)
    excluded = customer.isin(excluded_set)
    if only_customers is not None:
        excluded |= ~customer.isin(set(only_customers))
    over_age = float(amount[aged].sum())
    excl = float(amount[~aged & excluded].sum())
    passing = amount[~aged & ~excluded]
    by_cust = passing.groupby(customer[~aged & ~excluded]).sum()
    base = float(by_cust.sum())
    excess: dict[str, float] = {}
    if concentration_limit is not None:
        cap = concentration_limit * base
        for c, v in by_cust.items():
            if c != UNNAMED and v > cap:
                excess[str(c)] = float(v - cap)
    conc = sum(excess.values())
    return {
        "gross": gross,
        "over_age": over_age,
        "excluded": excl,
        "concentration_excess": conc,
        "concentration_by_customer": excess,
        "eligible": base - conc,
        "by_customer": {str(c): float(v) for c, v in by_cust.items()},
    }


def borrowing_base(
    detail: pd.DataFrame | Iterable[dict[str, Any]],
    inventory_at_cost: float = 0.0,
    *,
    receivables_advance_rate: float,
    inventory_advance_rate: float = 0.0,
    reserves: float = 0.0,
    limit: float | None = None,
    max_age_days: float | None = 90.0,
    concentration_limit: float | None = None,
    excluded_customers: Iterable[str] = (),
    ineligible_inventory_share: float = 0.0,
    inventory_reserve: float = 0.0,
) -> dict[str, Any]:
    """A borrowing-base certificate: eligible receivables and inventory, advances, reserves,
    availability (inventory 100,000 at cost, 20 % ineligible, advanced at 50 %, reserve 5,000:
    50 % x 80,000 - 5,000 = 35,000)."""
    rec = eligible_receivables(
        detail,
        max_age_days=max_age_days,
        concentration_limit=concentration_limit,
        excluded_customers=excluded_customers,
    )
    ar_advance = receivables_advance_rate * rec["eligible"]
    eligible_inventory = (1.0 - ineligible_inventory_share) * inventory_at_cost
    inv_advance = inventory_advance_rate * eligible_inventory
    base = max(0.0, ar_advance + inv_advance - reserves - inventory_reserve)
    availability = base if limit is None else min(base, limit)
    return {
        **rec,
        "receivables_advance": ar_advance,
        "inventory_at_cost": inventory_at_cost,
        "ineligible_inventory": inventory_at_cost - eligible_inventory,
        "eligible_inventory": eligible_inventory,
        "inventory_advance": inv_advance,
        "reserves": reserves,
        "inventory_reserve": inventory_reserve,
        "borrowing_base": base,
        "limit": limit,
        "availability": availability,
    }
