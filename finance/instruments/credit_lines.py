"""Credit lines: a balance drawn and repaid freely, up to a limit or a borrowing base.

Variables: ``balance[k,t]``, drawn at the end of t (``t = -1``: the opening balance, fixed);
``pledge[k,t]``, inventory at cost pledged to an inventory-backed line.

Cash in t: ``balance[t] - (1 + rate[t]) balance[t-1] - fee[t] (limit[t] - balance[t-1])``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Iterable, Iterator

import numpy as np
import pyomo.environ as pyo

from scenarios.fields import Problem

from .base import BaseInstrument, Money, ReceivablesPool, Row, VarEntry, empty_money, is_number, number, register


class CreditLine(BaseInstrument):
    """Shared by the revolver, the asset-based line and the inventory loan."""

    variable_domains = {"balance": None}
    families = ("credit_limit", "draw_window", "end_repayment")

    def variables(self, fm) -> Iterable[VarEntry]:
        a, n = self.key
        opening = float(self.spec.opening_balance)
        for t in range(-1, self.T):
            yield VarEntry("balance", (a, n, t), (opening, opening) if t == -1 else (0.0, None))

    def money(self, b: pyo.Block, fm, t: int) -> Money:
        a, n = self.key
        out = empty_money()
        out["principal"] += [(1.0, b.balance[a, n, t]), (-1.0, b.balance[a, n, t - 1])]
        r = float(self.arrays["rate"][t])
        if r:
            out["interest"].append((r, b.balance[a, n, t - 1]))
        fee = float(self.arrays["commitment_fee"][t]) if "commitment_fee" in self.arrays else 0.0
        if fee and "limit" in self.arrays:
            out["fees"] += [(fee * float(self.arrays["limit"][t]), b.one), (-fee, b.balance[a, n, t - 1])]
        return out

    def constraints(self, b: pyo.Block, fm) -> dict[str, list[Row]]:
        """credit_limit: balance[t] <= limit[t]; draw_window: outside the window balance[t] <=
        balance[t-1]; end_repayment: balance[T-1] = 0 when it must be repaid."""
        a, n = self.key
        rows: dict[str, list[Row]] = defaultdict(list)
        if "limit" in self.arrays:
            for t in range(self.T):
                rows["credit_limit"].append(((a, n, t), b.balance[a, n, t] <= float(self.arrays["limit"][t])))
        for t in range(self.T):
            if not self.in_window(t):
                rows["draw_window"].append(((a, n, t), b.balance[a, n, t] - b.balance[a, n, t - 1] <= 0))
        if self.repay_at_end:
            rows["end_repayment"].append(((a, n, self.T - 1), b.balance[a, n, self.T - 1] <= 0))
        self.collateral_rows(b, fm, rows)
        return rows

    def collateral_rows(self, b: pyo.Block, fm, rows: dict[str, list[Row]]) -> None:
        """Rows of its borrowing base (none for a revolver)."""

    def ending_debt_terms(self, b: pyo.Block, fm) -> Iterator[tuple[float, Any]]:
        yield 1.0, b.balance[self.key[0], self.key[1], self.T - 1]

    def opening_due(self) -> list[dict[str, Any]]:
        """The opening balance above a lower limit is due when the limit falls; what is left is due
        by the end of the horizon when the line must be repaid."""
        owed = float(self.spec.opening_balance)
        out = []
        for t in range(self.T):
            limit = float(self.arrays["limit"][t]) if "limit" in self.arrays else np.inf
            if owed > 1e-9 and limit < owed - 1e-9:
                out.append({"period": t, "amount": owed - max(limit, 0.0), "when": f"by period {t}, when the limit falls to {limit:,.2f}"})
                owed = max(limit, 0.0)
        if owed > 1e-9 and self.repay_at_end:
            out.append({"period": self.T - 1, "amount": owed, "when": f"by period {self.T - 1}, the end of the horizon (at_end: repay)"})
        return out

    def fill_row(self, row, b, fm, val, t, need) -> None:
        a, n = self.key
        row["opening_balance"], row["closing_balance"] = val(b.balance[a, n, t - 1]), val(b.balance[a, n, t])
        limit = float(self.arrays["limit"][t]) if "limit" in self.arrays else np.inf
        if not self.in_window(t):
            limit = min(limit, val(b.balance[a, n, t - 1]))
        row["availability"], row["collateral"] = self.availability(b, fm, val, t, need, limit)

    def availability(self, b, fm, val, t: int, need: dict, limit: float) -> tuple[float, float]:
        """Availability at the end of t given the other instruments' solved use of shared
        collateral, and the collateral value it rests on."""
        return limit, np.nan


@register
class RevolverInstrument(CreditLine):
    """A committed revolving credit line (:class:`scenarios.finance.RevolvingCredit`)."""

    type = "revolver"


class InventoryBacked(CreditLine):
    """A line lending against inventory at cost: it counts ``1 - ineligible_inventory_share[t]``
    of the stock pledged to it; the stock is pledged once across a partner's lines
    (``inventory_pledge``)."""

    variable_domains = {"balance": None, "pledge": None}

    @property
    def pledges_inventory(self) -> bool:
        return True

    def eligible_share(self, t: int) -> float:
        return 1 - float(self.arrays["ineligible_inventory_share"][t])

    def inventory_reserve(self, t: int) -> float:
        return float(self.arrays["inventory_reserve"][t])

    def pledge_entries(self) -> Iterable[VarEntry]:
        a, n = self.key
        return [VarEntry("pledge", (a, n, t)) for t in range(self.T)] if self.pledges_inventory else []

    def inventory_pledged(self, b: pyo.Block, t: int) -> Any:
        return b.pledge[self.key[0], self.key[1], t] if self.pledges_inventory else None

    def free_inventory(self, fm, val, t: int, need: dict) -> float:
        """Inventory at cost at the end of t not needed by the partner's other lines."""
        a, n = self.key
        others = sum(v for (pa, pn, pt), v in need.items() if pa == a and pt == t and pn != n)
        return max(0.0, number(fm.inputs[a].inventory[t]) - others)


@register
class AssetBasedInstrument(InventoryBacked):
    """An asset-based line (:class:`scenarios.finance.AssetBasedLine`): borrowing_base
    ``balance[t] <= ar x (eligible receivables[t] - receivables sold or paid early[t])
    + ir x (1 - ineligible share[t]) x pledge[t] - reserves[t] - inventory_reserve[t]``; where even
    all the collateral could not cover the reserves (numbers known in advance) nothing is
    available: ``balance[t] <= 0``. The inventory reserve comes off the whole base: flooring it at
    the inventory part would not be linear when inventory is a plan variable."""

    type = "asset_based"
    families = ("credit_limit", "draw_window", "borrowing_base", "inventory_pledge", "end_repayment")

    @property
    def pledges_inventory(self) -> bool:
        return self.spec.inventory_advance_rate > 0

    def variables(self, fm) -> Iterable[VarEntry]:
        yield from super().variables(fm)
        yield from self.pledge_entries()

    @classmethod
    def receivables_pool(cls, spec) -> ReceivablesPool:
        return ReceivablesPool(max_age_days=spec.max_age_days, excluded=tuple(spec.excluded_customers),
                               concentration_limit=spec.concentration_limit)

    @classmethod
    def check_table(cls, spec, table, partner, path, days_per_period=365.0 / 12):
        problems = super().check_table(spec, table, partner, path, days_per_period)
        has_rec = table.receivables is not None or "receivables" in table.flows
        if spec.receivables_advance_rate > 0 and has_rec:
            rec = table.receivables
            mine = rec[rec["partner"] == partner] if rec is not None else None
            if spec.concentration_limit is not None and (mine is None or mine["customer"].isna().all()):
                problems.append(Problem(f"{path}.concentration_limit", "receivables have no customer: the concentration limit is not applied", "warning"))
            if spec.max_age_days is not None and (mine is None or mine["age_days"].isna().all()):
                problems.append(Problem(f"{path}.max_age_days", "receivables have no ageing: the age test is not applied", "warning"))
        return problems

    def collateral_rows(self, b: pyo.Block, fm, rows: dict[str, list[Row]]) -> None:
        a, n = self.key
        s = self.spec
        inp = fm.inputs[a]
        for t in range(self.T):
            pool = inp.pools[n][t]
            reserve = float(self.arrays["reserves"][t]) + self.inventory_reserve(t)
            inv_rate = s.inventory_advance_rate * self.eligible_share(t)
            if is_number(pool) and is_number(inp.inventory[t]):
                most = s.receivables_advance_rate * float(pool) + inv_rate * float(inp.inventory[t])
                if most < reserve:
                    rows["borrowing_base"].append(((a, n, t), b.balance[a, n, t] <= 0))
                    continue
            used = sum(fm.receivables_taken(b, a, t)) + sum(fm.prepaid(b, a, t))
            rhs = s.receivables_advance_rate * (pool - used) - reserve
            if s.inventory_advance_rate > 0:
                rhs = rhs + inv_rate * b.pledge[a, n, t]
            rows["borrowing_base"].append(((a, n, t), b.balance[a, n, t] <= rhs))

    def receivables_collateral(self, b, fm, val, t: int) -> float:
        """Its eligible receivables at the end of t, less those sold or paid early."""
        a, n = self.key
        sold = sum(val(v) for v in fm.receivables_taken(b, a, t))
        sold += sum(val(v) for v in fm.prepaid(b, a, t))
        return max(0.0, number(fm.inputs[a].pools[n][t]) - sold)

    def needed_pledge(self, b, fm, val, t: int) -> float | None:
        if not self.pledges_inventory:
            return None
        s = self.spec
        bal = val(b.balance[self.key[0], self.key[1], t])
        ar = self.receivables_collateral(b, fm, val, t)
        rest = bal - s.receivables_advance_rate * ar + float(self.arrays["reserves"][t]) + self.inventory_reserve(t)
        rate = s.inventory_advance_rate * self.eligible_share(t)
        return max(0.0, rest / rate) if rate > 0 else 0.0

    def availability(self, b, fm, val, t, need, limit):
        s = self.spec
        ar = self.receivables_collateral(b, fm, val, t)
        inv = self.free_inventory(fm, val, t, need) if s.inventory_advance_rate > 0 else 0.0
        base = (s.receivables_advance_rate * ar + s.inventory_advance_rate * self.eligible_share(t) * inv
                - float(self.arrays["reserves"][t]) - self.inventory_reserve(t))
        return min(limit, max(0.0, base)), ar + inv


@register
class InventoryLoanInstrument(InventoryBacked):
    """A loan against pledged stock (:class:`scenarios.finance.InventoryLoan`): loan_to_value
    ``balance[t] <= ltv x (1 - ineligible share[t]) x pledge[t] - inventory_reserve[t]``; where
    the whole inventory could not cover the reserve (a number known in advance),
    ``balance[t] <= 0``."""

    type = "inventory_loan"
    families = ("credit_limit", "draw_window", "inventory_pledge", "loan_to_value", "end_repayment")

    def variables(self, fm) -> Iterable[VarEntry]:
        yield from super().variables(fm)
        yield from self.pledge_entries()

    def collateral_rows(self, b: pyo.Block, fm, rows: dict[str, list[Row]]) -> None:
        a, n = self.key
        inventory = fm.inputs[a].inventory
        for t in range(self.T):
            rate = self.spec.loan_to_value * self.eligible_share(t)
            reserve = self.inventory_reserve(t)
            if not reserve:
                rows["loan_to_value"].append(((a, n, t), b.balance[a, n, t] <= rate * b.pledge[a, n, t]))
            elif is_number(inventory[t]) and rate * float(inventory[t]) < reserve:
                rows["loan_to_value"].append(((a, n, t), b.balance[a, n, t] <= 0))
            else:
                rows["loan_to_value"].append(((a, n, t), b.balance[a, n, t] <= rate * b.pledge[a, n, t] - reserve))

    def needed_pledge(self, b, fm, val, t: int) -> float | None:
        rate = self.spec.loan_to_value * self.eligible_share(t)
        bal = val(b.balance[self.key[0], self.key[1], t])
        return (bal + self.inventory_reserve(t)) / rate if rate > 0 else 0.0

    def availability(self, b, fm, val, t, need, limit):
        free = self.free_inventory(fm, val, t, need)
        rate = self.spec.loan_to_value * self.eligible_share(t)
        return min(limit, max(0.0, rate * free - self.inventory_reserve(t))), free
