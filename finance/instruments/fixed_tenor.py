"""Fixed-tenor borrowing (commercial paper, platform loans): borrowed in t, repaid with its
interest in t + tenor (a bullet).

Variables: ``borrow[k,t]``, the amount borrowed in t; ``issue[k,t]`` binary, a loan taken in t,
when a minimum amount applies (a MIP).

Cash in t: ``(1 - fee) borrow[t] - (1 + i) borrow[t-N] - opening repayment[t]``, ``i`` the
interest over the tenor (``tenor_rate``, else ``rate[t-N] x N``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Iterator

import pyomo.environ as pyo

from .base import BaseInstrument, Money, Row, Terms, VarEntry, empty_money, register


@register
class FixedTenorInstrument(BaseInstrument):
    """A fixed-tenor loan (:class:`scenarios.finance.FixedTenorLoan`). Rows: credit_limit
    ``principal outstanding[t] <= limit[t] - opening repayments after t``; draw_window ``borrow[t]
    = 0`` outside the window; tenor_amount ``borrow[t] <= max_amount``, with a minimum
    ``min_amount issue[t] <= borrow[t] <= (max_amount or big M) issue[t]``; end_repayment: no loan
    maturing after T-1 when it must be repaid by the end."""

    type = "fixed_tenor"
    variable_domains = {"borrow": None, "issue": pyo.Binary}
    families = ("credit_limit", "draw_window", "tenor_amount", "end_repayment")

    def tenor_interest(self, t: int) -> float:
        s = self.spec
        if s.tenor_rate is not None:
            return float(s.tenor_rate)
        return float(self.arrays["rate"][t]) * s.tenor

    def variables(self, fm) -> Iterable[VarEntry]:
        a, n = self.key
        for t in range(self.T):
            yield VarEntry("borrow", (a, n, t))
        if self.spec.min_amount > 0:
            for t in range(self.T):
                yield VarEntry("issue", (a, n, t), None)

    def money(self, b: pyo.Block, fm, t: int) -> Money:
        a, n = self.key
        s = self.spec
        out = empty_money()
        N = s.tenor
        out["principal"].append((1.0, b.borrow[a, n, t]))
        if t - N >= 0:
            out["principal"].append((-1.0, b.borrow[a, n, t - N]))
            i = self.tenor_interest(t - N)
            if i:
                out["interest"].append((i, b.borrow[a, n, t - N]))
        if t < len(s.opening_repayments) and s.opening_repayments[t]:
            out["principal"].append((-float(s.opening_repayments[t]), b.one))
        if s.fee:
            out["fees"].append((s.fee, b.borrow[a, n, t]))
        return out

    def constraints(self, b: pyo.Block, fm) -> dict[str, list[Row]]:
        a, n = self.key
        s = self.spec
        T = self.T
        rows: dict[str, list[Row]] = defaultdict(list)
        if "limit" in self.arrays:
            for t in range(T):
                live = [b.borrow[a, n, u] for u in range(max(0, t - s.tenor + 1), t + 1)]
                rest = float(sum(s.opening_repayments[t + 1:]))
                rows["credit_limit"].append(((a, n, t), sum(live) <= float(self.arrays["limit"][t]) - rest))
        for t in range(T):
            if not self.in_window(t):
                rows["draw_window"].append(((a, n, t), b.borrow[a, n, t] <= 0))
        for t in range(T):
            if self.repay_at_end and t + s.tenor > T - 1:
                continue  # end_repayment forbids it
            if s.min_amount > 0:
                cap = s.max_amount if s.max_amount is not None else fm.inputs[a].big_m
                rows["tenor_amount"].append(((a, n, t, "min"), b.borrow[a, n, t] - s.min_amount * b.issue[a, n, t] >= 0))
                rows["tenor_amount"].append(((a, n, t, "max"), b.borrow[a, n, t] - cap * b.issue[a, n, t] <= 0))
            elif s.max_amount is not None:
                rows["tenor_amount"].append(((a, n, t, "max"), b.borrow[a, n, t] <= s.max_amount))
        if self.repay_at_end:
            for t in range(max(0, T - s.tenor), T):
                rows["end_repayment"].append(((a, n, t), b.borrow[a, n, t] <= 0))
        return rows

    def accrued_terms(self, b: pyo.Block, fm) -> Terms:
        """Interest accrued by the end of the horizon on loans maturing after it."""
        a, n = self.key
        N = self.spec.tenor
        out = []
        for u in range(max(0, self.T - N), self.T):
            i = self.tenor_interest(u) * (self.T - 1 - u) / N
            if i:
                out.append((i, b.borrow[a, n, u]))
        return out

    def ending_debt_terms(self, b: pyo.Block, fm) -> Iterator[tuple[float, Any]]:
        """Principal not yet repaid, its accrued interest, and opening repayments after the horizon."""
        a, n = self.key
        T = self.T
        for u in range(max(0, T - self.spec.tenor), T):
            yield 1.0, b.borrow[a, n, u]
        yield from self.accrued_terms(b, fm)
        rest = float(sum(self.spec.opening_repayments[T:]))
        if rest:
            yield rest, b.one

    def opening_due(self) -> list[dict[str, Any]]:
        """Repayments of loans taken before the horizon, in the periods they fall due."""
        return [{"period": t, "amount": float(r), "when": f"in period {t}"}
                for t, r in enumerate(self.spec.opening_repayments[: self.T]) if r > 1e-9]

    def fill_row(self, row, b, fm, val, t, need) -> None:
        a, n = self.key
        s = self.spec
        N = s.tenor
        out_t = sum(val(b.borrow[a, n, u]) for u in range(max(0, t - N + 1), t + 1))
        out_p = sum(val(b.borrow[a, n, u]) for u in range(max(0, t - N), t))
        rest = float(sum(s.opening_repayments[t + 1:]))
        rest_p = float(sum(s.opening_repayments[t:]))
        row["opening_balance"], row["closing_balance"] = out_p + rest_p, out_t + rest
        row["borrowed"] = val(b.borrow[a, n, t])
        if "limit" in self.arrays:
            row["availability"] = float(self.arrays["limit"][t])
