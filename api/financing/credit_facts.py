"""The facts of the credit limit rule (:mod:`api.financing.credit_rule`) read from the database:
a supplier's confirmed invoice volume per month, its recorded and disputed value, and the WAPE and
FVA of its submitted forecasts (what ``GET /fva`` reports for it)."""

from __future__ import annotations

import math
from datetime import date

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from api.financing.credit_rule import Facts
from api.models import ForecastSubmission, Invoice

CONFIRMED = ("confirmed", "settled")


def month_window(as_of: date, months: int) -> list[date]:
    """First days of the ``months`` complete calendar months before the month of ``as_of``, oldest first."""
    out = []
    y, m = as_of.year, as_of.month
    for _ in range(months):
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
        out.append(date(y, m, 1))
    return out[::-1]


def supplier_facts(session: Session, supplier_id: str, currency: str, as_of: date, months: int) -> Facts:
    """The rule's facts about ``supplier_id``'s invoices in ``currency`` (one query on the
    ``(seller_id, issue_date)`` index) and its forecasts."""
    starts = month_window(as_of, months)
    end = date(as_of.year, as_of.month, 1)
    rows = session.execute(
        select(Invoice.issue_date, Invoice.status, func.sum(Invoice.total_minor))
        .where(Invoice.seller_id == supplier_id, Invoice.issue_date >= starts[0], Invoice.issue_date < end,
               Invoice.currency == currency)
        .group_by(Invoice.issue_date, Invoice.status)).all()
    index = {(d.year, d.month): i for i, d in enumerate(starts)}
    volumes = [0] * months
    recorded = disputed = 0
    for day, status, total in rows:
        total = int(total)
        recorded += total
        if status in CONFIRMED:
            volumes[index[(day.year, day.month)]] += total
        elif status == "disputed":
            disputed += total
    wape, fva, note = forecast_accuracy(session, supplier_id)
    return Facts(tuple(volumes), tuple(d.strftime("%Y-%m") for d in starts), recorded, disputed, wape, fva, note)


def forecast_accuracy(session: Session, partner_id: str) -> tuple[float | None, float | None, str]:
    """``(WAPE, FVA, note)`` of the partner's submitted forecasts, pooled over its scored
    series-periods (:func:`forecasting.workflow.value_added`); ``(None, None, why)`` when there are none."""
    if not session.scalar(select(exists().where(ForecastSubmission.partner_id == partner_id))):
        return None, None, "the supplier has submitted no forecast"
    from api.store import DatabaseStore
    from api.tables import actuals_frame
    from forecasting import workflow

    result = workflow.value_added(DatabaseStore(session), actuals=actuals_frame(session, "M"), freq="M",
                                  partner=partner_id)
    rows = result.by_partner
    rows = rows[rows["partner"] == partner_id] if not rows.empty else rows
    if rows.empty:
        return None, None, "its forecasts cannot be scored yet: " + ("; ".join(result.notes) or "no overlap with actuals")
    wape, fva = rows.iloc[0]["wape_partner"], rows.iloc[0]["fva_wape"]
    if wape is None or not math.isfinite(float(wape)):
        return None, None, "its forecasts have no finite WAPE (no actual demand in the scored periods)"
    return float(wape), (float(fva) if fva is not None and math.isfinite(float(fva)) else None), ""
