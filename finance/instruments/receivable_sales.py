"""Receivables sold for cash now: factoring, and a buyer's reverse-factoring programme.

Variables: ``face[k,t]``, face value of receivables sold and not yet collected at the end of t
(``t = -1``: the opening advance / advance rate, fixed); ``sold[k,t]``, face value sold in t.

Cash in t: ``(a - fee) sold[t] - a rho[t] face[t-1] - discount[t] a face[t-1]``, where ``a`` is the
advance rate and ``rho[t]`` the share of the receivables book collected in t (the sold invoices
are collected like the rest; the factor keeps ``a`` of what it collects and returns the reserve,
so relative to the operating cash flow the seller gives up ``a`` of it).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, ClassVar, Iterable, Iterator

import pyomo.environ as pyo

from scenarios.fields import Problem

from .base import BaseInstrument, Money, ReceivablesPool, Row, VarEntry, empty_money, number, register


class ReceivableSale(BaseInstrument):
    """Shared by factoring and reverse factoring. Rows: credit_limit ``a face[t] <= limit[t]``;
    draw_window ``sold[t] = 0`` outside the window; factoring_rollforward ``face[t] = (1 - rho[t])
    face[t-1] + sold[t]``; factoring_pool ``face[t] + invoices of its customers paid early <=
    the receivables it may buy[t]``; end_repayment ``face[T-1] = 0`` when it must be repaid."""

    variable_domains = {"face": None, "sold": None}
    families = ("credit_limit", "draw_window", "factoring_rollforward", "factoring_pool", "receivables_sold",
                "end_repayment")
    uses_collection_rate: ClassVar[bool] = True
    discount_field: ClassVar[str] = "rate"  # the series of the discount per period on the advance

    def opening_face(self) -> float:
        return self.spec.opening_balance / self.spec.advance_rate

    def pool_customers(self) -> list[str] | None:
        """The customers whose invoices it may buy (None: every customer)."""
        return None

    def variables(self, fm) -> Iterable[VarEntry]:
        a, n = self.key
        f0 = self.opening_face()
        for t in range(-1, self.T):
            yield VarEntry("face", (a, n, t), (f0, f0) if t == -1 else (0.0, None))
        for t in range(self.T):
            yield VarEntry("sold", (a, n, t))

    def receivables_taken(self, b: pyo.Block, t: int) -> list:
        return [b.face[self.key[0], self.key[1], t]]

    def money(self, b: pyo.Block, fm, t: int) -> Money:
        a, n = self.key
        s = self.spec
        out = empty_money()
        adv = s.advance_rate
        rho = float(fm.inputs[a].collection_rate[t])
        disc = float(self.arrays[self.discount_field][t])
        out["principal"] += [(adv, b.sold[a, n, t])]
        if rho:
            out["principal"].append((-adv * rho, b.face[a, n, t - 1]))
        if disc:
            out["interest"].append((disc * adv, b.face[a, n, t - 1]))
        if s.fee:
            out["fees"].append((s.fee, b.sold[a, n, t]))
        return out

    def constraints(self, b: pyo.Block, fm) -> dict[str, list[Row]]:
        a, n = self.key
        s = self.spec
        rows: dict[str, list[Row]] = defaultdict(list)
        if "limit" in self.arrays:
            for t in range(self.T):
                rows["credit_limit"].append(((a, n, t), s.advance_rate * b.face[a, n, t] <= float(self.arrays["limit"][t])))
        for t in range(self.T):
            if not self.in_window(t):
                rows["draw_window"].append(((a, n, t), b.sold[a, n, t] <= 0))
        rho = fm.inputs[a].collection_rate
        pool = fm.inputs[a].pools[n]
        for t in range(self.T):
            rows["factoring_rollforward"].append(
                ((a, n, t), b.face[a, n, t] == (1.0 - float(rho[t])) * b.face[a, n, t - 1] + b.sold[a, n, t])
            )
        for t in range(self.T):
            prepaid = fm.prepaid(b, a, t, self.pool_customers())
            rows["factoring_pool"].append(((a, n, t), b.face[a, n, t] + sum(prepaid) <= pool[t]))
        if self.repay_at_end:
            rows["end_repayment"].append(((a, n, self.T - 1), b.face[a, n, self.T - 1] <= 0))
        return rows

    def ending_debt_terms(self, b: pyo.Block, fm) -> Iterator[tuple[float, Any]]:
        yield self.spec.advance_rate, b.face[self.key[0], self.key[1], self.T - 1]

    def fill_row(self, row, b, fm, val, t, need) -> None:
        a, n = self.key
        s = self.spec
        inp = fm.inputs[a]
        face, prev = val(b.face[a, n, t]), val(b.face[a, n, t - 1])
        row["opening_balance"], row["closing_balance"] = s.advance_rate * prev, s.advance_rate * face
        row["face_sold"] = val(b.sold[a, n, t])
        row["face_outstanding"] = face
        others = sum(val(v) for v in fm.receivables_taken(b, a, t, skip=self))
        pre = sum(val(v) for v in fm.prepaid(b, a, t, self.pool_customers()))
        pre_all = sum(val(v) for v in fm.prepaid(b, a, t))
        room = min(number(inp.pools[n][t]) - pre, number(inp.receivables[t]) - others - pre_all)
        avail = s.advance_rate * max(0.0, room)
        if "limit" in self.arrays:
            avail = min(avail, float(self.arrays["limit"][t]))
        row["availability"] = avail
        row["collateral"] = face


@register
class FactoringInstrument(ReceivableSale):
    """Receivables sold to a factor (:class:`scenarios.finance.Factoring`): those of its
    customers, younger than its age limit."""

    type = "factoring"
    discount_field = "discount_rate"

    def pool_customers(self) -> list[str] | None:
        return self.spec.customers

    @classmethod
    def receivables_pool(cls, spec) -> ReceivablesPool:
        return ReceivablesPool(max_age_days=spec.max_age_days,
                               only=tuple(spec.customers) if spec.customers is not None else None)


@register
class ReverseFactoringInstrument(ReceivableSale):
    """A buyer's supply-chain-finance programme (:class:`scenarios.finance.ReverseFactoring`):
    only the buyer's invoices, discounted at the buyer's rate."""

    type = "reverse_factoring"
    discount_field = "rate"

    def pool_customers(self) -> list[str] | None:
        return [self.spec.buyer]

    @classmethod
    def receivables_pool(cls, spec) -> ReceivablesPool:
        return ReceivablesPool(only=(spec.buyer,))

    @classmethod
    def check_table(cls, spec, table, partner, path, days_per_period=365.0 / 12):
        problems = super().check_table(spec, table, partner, path, days_per_period)
        if table.receivables is None:
            problems.append(Problem(path, "reverse factoring needs receivables by customer (a receivables file with a 'customer' column)"))
        return problems
