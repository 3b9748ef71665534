"""Dynamic discounting: a supplier's discount for early payment quoted as an annual rate on the
days paid early, the buyer choosing how much to pay and how early, within a liquidity limit.

    discount = amount x APR x days early / basis        (basis 360 for actual/360, 365 for actual/365)

(10,000 paid 7 days early at 18 % APR, actual/360: 35.00; 14 days at 24 %: 93.33.)

In the period model an invoice due in t may be paid j = 1 .. J periods early (J =
``max_periods_early``, else ``max_days_early`` / days per period rounded down), in t - j, at a
discount ``d_j = APR x j x days per period / basis``. Variable ``prepay[k,t,j]``: the face value
of the invoices due in t paid j periods early. Rows, besides the early-payment ones
(:class:`~finance.instruments.early_payment.EarlyPayment`): liquidity_limit, on the money
outstanding at the end of each period,

    sum over j, and invoices due in s = t+1 .. t+j (paid in s - j <= t):  (1 - d_j) prepay[k,s,j] <= limit[t].
"""

from __future__ import annotations

import math
from typing import Any

import pyomo.environ as pyo

from scenarios.fields import Problem
from scenarios.finance import DAY_COUNT_BASIS

from .base import Row, register
from .early_payment import BROUGHT_FORWARD, MIRROR_TYPE, RECEIVED_EARLY, EarlyPayment


def dynamic_discount_amount(amount: float, apr: float, days_early: float, day_count: str = "actual/360") -> float:
    """The discount for paying ``amount`` ``days_early`` days before it is due at ``apr`` a year:
    amount x apr x days_early / basis (360 or 365 days)."""
    return amount * apr * days_early / DAY_COUNT_BASIS[day_count]


@register
class DynamicDiscountInstrument(EarlyPayment):
    """A supplier's dynamic-discounting offer (:class:`scenarios.finance.DynamicDiscount`)."""

    type = "dynamic_discount"
    variable_domains = {"prepay": None}
    families = ("draw_window", "early_payment_limit", "liquidity_limit")
    what = "a dynamic discount"
    row_labels = {
        "dynamic_discount": (BROUGHT_FORWARD, " paid early (not borrowing)"),
        MIRROR_TYPE: (RECEIVED_EARLY, " received early (not borrowing)"),
    }

    def __init__(self, partner: str, spec: Any, T: int, days_per_period: float):
        super().__init__(partner, spec, T, days_per_period)
        most = self.periods_early(spec, days_per_period)
        self._options = [
            (j, dynamic_discount_amount(1.0, spec.apr, j * days_per_period, spec.day_count)) for j in range(1, most + 1)
        ]

    @staticmethod
    def periods_early(spec: Any, days_per_period: float) -> int:
        """J: ``max_periods_early``, else ``max_days_early`` / days per period rounded down."""
        if spec.max_periods_early is not None:
            return spec.max_periods_early
        return int(math.floor(spec.max_days_early / days_per_period + 1e-9))

    @classmethod
    def check_table(cls, spec, table, partner, path, days_per_period=365.0 / 12):
        problems = super().check_table(spec, table, partner, path, days_per_period)
        if cls.periods_early(spec, days_per_period) == 0:
            problems.append(Problem(f"{path}.max_days_early", f"{spec.max_days_early:g} days is less than one period "
                                    f"({days_per_period:.1f} days): no payment can be made early", "warning"))
        return problems

    def options(self) -> list[tuple[int, float]]:
        return self._options

    def var(self, b: pyo.Block, t: int, i: int) -> Any:
        return b.prepay[self.key[0], self.key[1], t, self._options[i][0]]

    def index(self, t: int, i: int) -> tuple:
        return (*self.key, t, self._options[i][0])

    def outstanding(self, b: pyo.Block, t: int) -> list[tuple[float, Any]]:
        """(1 - d_j, prepay[s, j]) of invoices paid early by the end of t and due after it."""
        return [(1.0 - d, self.var(b, s, i)) for i, (k, d) in enumerate(self._options)
                for s in range(t + 1, min(t + k, self.T - 1) + 1)]

    def constraints(self, b: pyo.Block, fm) -> dict[str, list[Row]]:
        rows = super().constraints(b, fm)
        if "limit" in self.arrays:
            for t in range(self.T):
                terms = self.outstanding(b, t)
                if terms:
                    rows["liquidity_limit"].append(
                        ((*self.key, t), sum(c * v for c, v in terms) <= float(self.arrays["limit"][t]))
                    )
        return rows

    def fill_availability(self, row, b, fm, val, t) -> None:
        row["paid_early_outstanding"] = sum(c * val(v) for c, v in self.outstanding(b, t))
        if "limit" in self.arrays:
            row["availability"] = float(self.arrays["limit"][t])
            row["headroom"] = row["availability"] - row["paid_early_outstanding"]

    def report(self) -> dict[str, Any]:
        s = self.spec
        days = [round(k * self.days_per_period, 1) for k, _d in self._options]
        return {
            "terms": f"{s.apr * 100:g} % APR ({s.day_count}), up to {s.max_days_early:g} days early",
            "apr": s.apr,
            "day_count": s.day_count,
            "days_early_options": days,
            "discount_options": [d for _k, d in self._options],
        }
