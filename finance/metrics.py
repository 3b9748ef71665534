"""Working-capital and trade-credit measures used in funding reports.

Days measures follow the textbook definitions (e.g. Ross, Westerfield & Jordan, *Fundamentals of
Corporate Finance*, "Short-term finance and planning"): a balance divided by the flow it turns
over with, times the days of the period the flow covers.
"""

from __future__ import annotations

import math
import re

DAYS_PER_YEAR = 365.0


def _ratio_days(balance: float, flow: float, days: float) -> float | None:
    if flow is None or balance is None or not math.isfinite(flow) or flow <= 0:
        return None
    return float(balance) / float(flow) * float(days)


def days_sales_outstanding(receivables: float, sales: float, days: float = DAYS_PER_YEAR) -> float | None:
    """DSO = receivables / sales x days (the receivables period); None without sales."""
    return _ratio_days(receivables, sales, days)


def days_inventory_outstanding(inventory: float, cogs: float, days: float = DAYS_PER_YEAR) -> float | None:
    """DIO = inventory / cost of goods sold x days (the inventory period)."""
    return _ratio_days(inventory, cogs, days)


def days_payables_outstanding(payables: float, cogs: float, days: float = DAYS_PER_YEAR) -> float | None:
    """DPO = payables / cost of goods sold x days (the payables period)."""
    return _ratio_days(payables, cogs, days)


def cash_conversion_cycle(dso: float | None, dio: float | None, dpo: float | None) -> float | None:
    """CCC = DSO + DIO - DPO (the cash cycle: operating cycle minus the payables period)."""
    if dso is None or dio is None or dpo is None:
        return None
    return dso + dio - dpo


def implied_cost_of_trade_credit(
    discount: float,
    discount_days: float,
    net_days: float,
    *,
    days_per_year: float = DAYS_PER_YEAR,
    compound: bool = False,
) -> float:
    """Annual cost of forgoing an early-payment discount (e.g. 2/10 net 30).

    Not taking the discount borrows (1 - discount) for (net_days - discount_days) days at a cost of
    ``discount``: the rate per such period is discount / (1 - discount). ``compound=False`` gives
    the simple annual rate (x days_per_year / (net - discount days)); ``compound=True`` the
    effective annual rate (1 + rate) ** (days_per_year / (net - discount days)) - 1.
    """
    if not 0 <= discount < 1:
        raise ValueError(f"discount must be a fraction in [0, 1) (got {discount})")
    if net_days <= discount_days:
        raise ValueError(f"net_days ({net_days}) must be after discount_days ({discount_days})")
    per = discount / (1.0 - discount)
    n = days_per_year / (net_days - discount_days)
    return (1.0 + per) ** n - 1.0 if compound else per * n


def early_payment_discount_amount(invoice: float, discount: float) -> float:
    """Money saved by paying an invoice within the discount period."""
    return invoice * discount


_TERMS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+)\s*,?\s*n(?:et)?\s*/?\s*(\d+)\s*$", re.IGNORECASE)


def parse_terms(text: str) -> tuple[float, float, float]:
    """'2/10 net 30' (or '2/10, n/30') -> (0.02, 10, 30)."""
    match = _TERMS.match(text)
    if not match:
        raise ValueError(f"cannot read payment terms {text!r}; write them like '2/10 net 30'")
    pct, d_days, n_days = match.groups()
    return float(pct) / 100.0, float(d_days), float(n_days)


def effective_annual_rate(rate_per_period: float, periods_per_year: float) -> float:
    """(1 + rate per period) ** periods per year - 1."""
    return (1.0 + rate_per_period) ** periods_per_year - 1.0
