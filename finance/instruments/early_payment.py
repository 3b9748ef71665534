"""Paying suppliers early for a discount: trade-credit terms (2/10 net 30), and the shared base of
every early-payment kind.

An early-payment kind offers *options* ``(k, d)``: invoices due in t may be paid k periods
earlier, in t - k, at (1 - d) of their face value. Its variables are, per option, the face value
of the invoices due in t paid early. Cash in t: ``+ face due in t paid early`` (the payment the
operating cash flow makes in t has left earlier) ``- (1 - d) face due in t + k`` (paid now). The
discount ``d x face`` is income in t (a gain already inside the cash).

When the supplier is a partner of the model, its cash mirrors the buyer's (it receives
``(1 - d)`` early and does not collect in t; the discount is its cost), and invoices it has been
paid early are no longer receivables it can pledge or sell.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar, Iterable, Iterator

import pyomo.environ as pyo

from scenarios.fields import Problem

from finance.metrics import implied_cost_of_trade_credit

from .base import BaseInstrument, Money, Row, VarEntry, empty_money, number, register

BROUGHT_FORWARD = "payment brought forward, not borrowing (drawn = face value of invoices paid early)"
RECEIVED_EARLY = "payment received early, not borrowing (drawn = face value of invoices paid early to it)"
MIRROR_TYPE = "early_payment_received"  # the supplier's row in the instrument table


def _total(vs: list) -> Any:
    return vs[0] if len(vs) == 1 else sum(vs)


class EarlyPayment(BaseInstrument):
    """Shared by the early-payment kinds. Rows: draw_window (an option whose payment period
    t - k is before 0 or outside the window is not used); early_payment_limit (invoices due in t
    paid early <= payments due in t that carry the discount)."""

    is_debt = False
    families = ("draw_window", "early_payment_limit")
    what: ClassVar[str] = "an early-payment discount"

    def options(self) -> list[tuple[int, float]]:
        """(periods early, discount as a fraction of face value)."""
        raise NotImplementedError

    def var(self, b: pyo.Block, t: int, i: int) -> Any:
        """Face value of invoices due in t paid early under option i."""
        raise NotImplementedError

    def index(self, t: int, i: int) -> tuple:
        raise NotImplementedError

    def due_in(self, b: pyo.Block, t: int) -> list[tuple[Any, int, float]]:
        """(variable, k, d) of invoices due in t paid early."""
        return [(self.var(b, t, i), k, d) for i, (k, d) in enumerate(self.options())]

    def paid_in(self, b: pyo.Block, t: int) -> list[tuple[Any, int, float]]:
        """(variable, k, d) of invoices due in t + k paid early in t."""
        return [(self.var(b, t + k, i), k, d) for i, (k, d) in enumerate(self.options()) if t + k < self.T]

    def mirrored(self, fm) -> bool:
        """The supplier is a partner of the model: paying early moves its cash too."""
        s = self.spec.supplier
        return s in fm.partner_set and s != self.partner

    def pays_early_to(self, fm) -> str | None:
        return self.spec.supplier if self.mirrored(fm) else None

    @classmethod
    def check_table(cls, spec, table, partner, path, days_per_period=365.0 / 12):
        problems = super().check_table(spec, table, partner, path, days_per_period)
        if table.payables_due is None:
            problems.append(Problem(path, f"{cls.what} needs the payments due per supplier (a payables file)"))
        elif spec.supplier is not None:
            pay = table.payables_due
            suppliers = set(pay.loc[pay["partner"] == partner, "supplier"].dropna().astype(str))
            if spec.supplier not in suppliers:
                problems.append(Problem(f"{path}.supplier", f"no payments due to '{spec.supplier}' (suppliers: {', '.join(sorted(suppliers)) or 'none'})"))
        return problems

    def variables(self, fm) -> Iterable[VarEntry]:
        (family,) = self.variable_domains
        for i in range(len(self.options())):
            for t in range(self.T):
                yield VarEntry(family, self.index(t, i))

    def money(self, b: pyo.Block, fm, t: int) -> Money:
        out = empty_money()
        due = self.due_in(b, t)
        out["principal"] += [(1.0, v) for v, _k, _d in due]
        out["principal"] += [(-(1.0 - d), v) for v, _k, d in self.paid_in(b, t)]
        out["income"] += [(d, v) for v, _k, d in due]
        return out

    def mirror_money(self, b: pyo.Block, t: int) -> Money:
        """The supplier's side in t: it receives (1 - d) of the invoices due later and no longer
        collects those due in t; ``cost`` is the discount it gives on the invoices due in t."""
        due = self.due_in(b, t)
        principal = [(-1.0, v) for v, _k, _d in due] + [(1.0 - d, v) for v, _k, d in self.paid_in(b, t)]
        return {"principal": principal, "cost": [(d, v) for v, _k, d in due]}

    def other_cash(self, b: pyo.Block, fm, t: int) -> Iterable[tuple[str, float, Any]]:
        if self.mirrored(fm):
            for c, v in self.mirror_money(b, t)["principal"]:
                yield self.spec.supplier, c, v

    def cost_terms(self, b: pyo.Block, fm, partner: str | None = None) -> Iterator[tuple[float, Any]]:
        """Discounts it takes (a gain to the buyer); the discount it makes a supplier of the
        model give (a cost to the supplier)."""
        if self.mirrored(fm) and (partner is None or self.spec.supplier == partner):
            for t in range(self.T):
                yield from self.mirror_money(b, t)["cost"]
        yield from super().cost_terms(b, fm, partner)

    def prepaid(self, b: pyo.Block, fm, supplier: str, u: int, customers: Iterable[str] | None = None) -> list:
        if not self.mirrored(fm) or self.spec.supplier != supplier:
            return []
        if customers is not None and self.partner not in customers:
            return []
        return [self.var(b, t, i) for i, (k, _d) in enumerate(self.options())
                for t in range(u + 1, min(u + k, self.T - 1) + 1)]

    def constraints(self, b: pyo.Block, fm) -> dict[str, list[Row]]:
        a, n = self.key
        rows: dict[str, list[Row]] = defaultdict(list)
        for i, (k, _d) in enumerate(self.options()):
            for t in range(self.T):
                pay_t = t - k
                if pay_t < 0 or not self.in_window(pay_t):
                    rows["draw_window"].append((self.index(t, i), self.var(b, t, i) <= 0))
        due = fm.inputs[a].payables_due[n]
        if self.options():
            for t in range(self.T):
                rows["early_payment_limit"].append(((a, n, t), _total([v for v, _k, _d in self.due_in(b, t)]) <= due[t]))
        return rows

    def fill_row(self, row, b, fm, val, t, need) -> None:
        a, n = self.key
        row["payables_due"] = number(fm.inputs[a].payables_due[n][t])
        paid = self.paid_in(b, t)
        row["paid_early_face"] = sum(val(v) for v, _k, _d in paid)
        row["settled_early_face"] = sum(val(v) for v, _k, _d in self.due_in(b, t))
        row["inflow"] = row["settled_early_face"]
        row["outflow"] = sum((1.0 - d) * val(v) for v, _k, d in paid)
        self.fill_availability(row, b, fm, val, t)

    def fill_availability(self, row, b, fm, val, t) -> None:
        """Availability and headroom of the row of period t."""

    def counterparty_rows(self, b, fm, val, t) -> list[dict[str, Any]]:
        if not self.mirrored(fm):
            return []
        a, n = self.key
        due = self.due_in(b, t)
        paid = self.paid_in(b, t)
        settled = sum(val(v) for v, _k, _d in due)
        early = sum(val(v) for v, _k, _d in paid)
        return [{
            "partner": self.spec.supplier,
            "instrument": f"{n}@{a}",
            "type": MIRROR_TYPE,
            "period": t,
            "opening_balance": 0.0,
            "inflow": sum((1.0 - d) * val(v) for v, _k, d in paid),
            "outflow": settled,
            "closing_balance": 0.0,
            "interest": 0.0,
            "fees": 0.0,
            "discount_taken": 0.0,
            "discount_given": float(sum(d * val(v) for v, _k, d in due)),
            "paid_early_face": early,
            "settled_early_face": settled,
        }]


@register
class EarlyPaymentDiscountInstrument(EarlyPayment):
    """Trade-credit terms such as 2/10 net 30 (:class:`scenarios.finance.EarlyPaymentDiscount`):
    one option, ``shift`` periods early at ``discount``. Variable ``early[k,t]``."""

    type = "early_payment_discount"
    variable_domains = {"early": None}
    row_labels = {
        "early_payment_discount": (BROUGHT_FORWARD, " paid early (not borrowing)"),
        MIRROR_TYPE: (RECEIVED_EARLY, " received early (not borrowing)"),
    }

    def shift(self) -> int:
        s = self.spec
        if s.shift_periods is not None:
            return int(s.shift_periods)
        return max(1, int(round((s.net_days - s.discount_days) / self.days_per_period)))

    def options(self) -> list[tuple[int, float]]:
        return [(self.shift(), self.spec.discount)]

    def var(self, b: pyo.Block, t: int, i: int) -> Any:
        return b.early[self.key[0], self.key[1], t]

    def index(self, t: int, i: int) -> tuple:
        return (*self.key, t)

    def fill_availability(self, row, b, fm, val, t) -> None:
        a, n = self.key
        k = self.shift()
        row["availability"] = number(fm.inputs[a].payables_due[n][t + k]) if t + k < self.T else 0.0
        row["headroom"] = row["availability"] - row["paid_early_face"]

    def report(self) -> dict[str, Any]:
        return forgone_discount_cost(self.spec)


def forgone_discount_cost(spec: Any) -> dict[str, Any]:
    """What forgoing an early-payment discount costs a year, on a 365-day year: 2/10 net 30 ->
    2/98 x 365/20 = 37.24 % simple, (1 + 2/98)^(365/20) - 1 = 44.59 % effective. Reported for
    every early-payment discount in the funding (finance.metrics.implied_cost_of_trade_credit)."""
    args = (spec.discount, spec.discount_days, spec.net_days)
    return {
        "terms": f"{spec.discount * 100:g}/{spec.discount_days:g} net {spec.net_days:g}",
        "forgone_discount_simple_rate": implied_cost_of_trade_credit(*args),
        "forgone_discount_effective_rate": implied_cost_of_trade_credit(*args, compound=True),
        "forgone_discount_days_per_year": 365,
    }
