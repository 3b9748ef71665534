"""The working-capital book of a plan: receivables, payables and inventory at cost per partner and
period, derived once from the planning data's cash streams and stock.

An invoice of a stream with settlement lag L >= 1 incurred in period u is open at the end of the
periods u .. u + L - 1 and settled in u + L (which may lie past the horizon). Per partner a and the
end of period t = 0 .. T-1:

- ``receivables[a][t][(customer, k)]``: revenue (lagged streams of sign +1) invoiced by a in
  u = t - k + 1 and open at t, k = 1 .. L its age in periods; the customer is the counterparty
  partner, or :data:`EXTERNAL` for consumers and outside parties. Receivables from before the
  horizon collected in s > t are customer :data:`OPENING`, age t + 1.
- ``payables[a][t][supplier]``: costs (lagged streams of sign -1) invoiced to a and open at t;
  payables from before the horizon paid in s > t are supplier :data:`OPENING`.
- ``payables_due[a][s][supplier]``: lagged costs falling due in s < T (at their net term).
- ``collections[a][s]``: lagged revenue settled in s < T + opening receivables collected in s.
- ``inventory[a][t]``: sum over a's stock (site, p) of ``inventory[site, p, t] x standard_cost[p]``
  + goods on their way to a's sites: ``ship[l, p, u] x standard_cost[p]`` for
  u = t - lead(l) + 1 .. t (lanes with lead >= 1 into a site of a).

Every balance is positive (an amount owed, not a signed cash flow). The derivation is written once
over a value getter ``value(family, key)``, the per-period values of one key of a variable family:
numbers (``Solution.series`` of a solved plan; the book holds numbers) or the model's variables
(:func:`planning.model.grid_row`; the book holds linear expressions of them, for joint planning).
A settled plan's ``cash_flows`` table gives the same book through :func:`cash_streams_of`. Cells
are :class:`Affine`; amounts of at most :data:`NEGLIGIBLE` are not money (the plan's
``cash_flows`` table drops them too).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd
from pyomo.core.expr.numeric_expr import LinearExpression

from .data import CashStream, PlanningData

OPENING = "(opening balance)"  # the counterparty of balances from before the horizon
EXTERNAL = "(outside the chain)"  # the counterparty of consumers and outside suppliers
OPENING_RECEIVABLES = "opening_receivables"
OPENING_PAYABLES = "opening_payables"
NEGLIGIBLE = 1e-12
_NUMBERS = (float, int, np.number)

Value = Callable[[str, tuple], Sequence[Any]]
"""``value(family, key)``: per period, a model variable, or the values as a numpy array."""


@dataclass
class Affine:
    """constant + sum(coef x var), kept as plain lists until a Pyomo expression is needed."""

    constant: float = 0.0
    coefs: list[float] | None = None
    vars: list[Any] | None = None

    def add(self, c: float, v: Any = None) -> None:
        """Add ``c`` (``v`` None), ``c x v`` (``v`` a number) or the term ``c x v`` (a variable)."""
        if v is None:
            self.constant += c
            return
        if isinstance(v, _NUMBERS):
            self.constant += c * float(v)
            return
        if self.coefs is None:
            self.coefs, self.vars = [], []
        self.coefs.append(c)
        self.vars.append(v)

    def extend(self, other: "Affine", scale: float = 1.0) -> None:
        self.constant += scale * other.constant
        for c, v in zip(other.coefs or (), other.vars or ()):
            self.add(scale * c, v)

    def expr(self) -> Any:
        """A number when there is no variable, else a LinearExpression."""
        if not self.coefs:
            return float(self.constant)
        return LinearExpression(constant=float(self.constant), linear_coefs=list(self.coefs), linear_vars=list(self.vars))

    def value(self) -> float:
        """The number (variables at their current values, None read as 0)."""
        return float(self.constant + sum(c * (v.value or 0.0) for c, v in zip(self.coefs or (), self.vars or ())))


def _sum(cells: Iterable[Affine]) -> Affine:
    out = Affine()
    for cell in cells:
        out.extend(cell)
    return out


@dataclass(frozen=True)
class Invoices:
    """One stream's invoices: ``entries`` (u, c, v), the amount incurred in u being c x v (c when
    ``v`` is None), owed to ``partner`` (``receivable``) or by it, by or to ``counterparty``,
    settled ``lag`` periods later; an opening balance (``opening``) is settled in u."""

    partner: str
    receivable: bool
    opening: bool
    counterparty: str
    lag: int
    entries: list[tuple[int, float, Any]]


class WorkingCapitalBook:
    """The invoices of a plan and its inventory at cost; the balances (see the module docstring)
    are views of the invoices, each built when first read. ``credit_lags[a]``: the lag of each of
    a's lagged revenue streams."""

    def __init__(self, partners: Sequence[str], T: int, invoices: list[Invoices],
                 inventory: dict[str, list[Affine]], credit_lags: dict[str, list[int]]):
        self.partners = list(partners)
        self.T = T
        self.invoices = invoices
        self.inventory = inventory
        self.credit_lags = credit_lags

    def _grid(self, make: Callable[[], Any]) -> dict[str, list[Any]]:
        return {a: [make() for _ in range(self.T)] for a in self.partners}

    def _open(self, receivable: bool) -> dict[str, list[dict[Any, Affine]]]:
        """Per partner and end of t, the invoices open: receivables by (customer, age in periods),
        payables by supplier."""
        T = self.T
        out = self._grid(lambda: defaultdict(Affine))
        for inv in self.invoices:
            if inv.receivable != receivable:
                continue
            book, other = out[inv.partner], inv.counterparty
            for u, c, v in inv.entries:
                if inv.opening:  # from before the horizon: open at the end of t < u
                    for t in range(u):
                        book[t][(OPENING, t + 1) if receivable else OPENING].add(c, v)
                    continue
                for t in range(u, min(u + inv.lag, T)):
                    book[t][(other, t - u + 1) if receivable else other].add(c, v)
        return out

    @cached_property
    def receivables(self) -> dict[str, list[dict[tuple[str, int], Affine]]]:
        return self._open(True)

    @cached_property
    def payables(self) -> dict[str, list[dict[str, Affine]]]:
        return self._open(False)

    @cached_property
    def payables_due(self) -> dict[str, list[dict[str, Affine]]]:
        out = self._grid(lambda: defaultdict(Affine))
        for inv in self.invoices:
            if not inv.receivable and not inv.opening:
                for u, c, v in inv.entries:
                    if u + inv.lag < self.T:
                        out[inv.partner][u + inv.lag][inv.counterparty].add(c, v)
        return out

    @cached_property
    def collections(self) -> dict[str, list[Affine]]:
        out = self._grid(Affine)
        for inv in self.invoices:
            if inv.receivable:
                for u, c, v in inv.entries:
                    if u + inv.lag < self.T:
                        out[inv.partner][u + inv.lag].add(c, v)
        return out

    def receivables_total(self, a: str, t: int, *, opening: bool = True) -> Affine:
        """Receivables of a open at the end of t (``opening``: with those from before the horizon)."""
        return _sum(cell for (customer, _k), cell in self.receivables[a][t].items() if opening or customer != OPENING)

    def payables_total(self, a: str, t: int, *, opening: bool = True) -> Affine:
        """Payables of a open at the end of t (``opening``: with those from before the horizon)."""
        return _sum(cell for supplier, cell in self.payables[a][t].items() if opening or supplier != OPENING)

    def payables_due_total(self, a: str, s: int, supplier: str | None = None) -> Affine:
        """Payments of a due in s at the net term, to one supplier (None: all)."""
        return _sum(cell for sup, cell in self.payables_due[a][s].items() if supplier is None or sup == supplier)


def _entries(st: CashStream, x: Sequence[Any] | None) -> list[tuple[int, float, Any]]:
    """(u, c, v) per period u with money: the stream's amount incurred in u is sign x c x v, or
    sign x c when ``v`` is None (a constant stream, or ``x`` numbers: c is then the amount);
    numeric amounts of at most NEGLIGIBLE are left out."""
    coef = np.asarray(st.coef, dtype=float)
    if x is None or isinstance(x, np.ndarray):
        amount = coef if x is None else coef * x
        values = amount.tolist()
        return [(u, values[u], None) for u in np.flatnonzero(np.abs(amount) > NEGLIGIBLE).tolist()]
    coefs = coef.tolist()
    return [(u, coefs[u], x[u]) for u in np.flatnonzero(coef).tolist()]


def book_of_streams(
    streams: Iterable[CashStream],
    partners: Sequence[str],
    T: int,
    value: Value | None = None,
    inventory: dict[str, list[Affine]] | None = None,
) -> WorkingCapitalBook:
    """The book of the streams' invoices (lagged streams and opening balances; a stream settled
    when incurred is never open); ``value`` evaluates the streams' variables (None: every stream
    is a constant one); ``inventory``: the book's inventory at cost (default 0)."""
    invoices: list[Invoices] = []
    credit_lags: dict[str, list[int]] = {a: [] for a in partners}
    for st in streams:
        opening = st.kind in (OPENING_RECEIVABLES, OPENING_PAYABLES)
        if st.lag <= 0 and not opening:
            continue
        if st.sign > 0 and not opening:
            credit_lags[st.partner].append(st.lag)
        other = st.counterparty if st.counterparty is not None else EXTERNAL
        x = value(st.var, st.key) if st.var is not None else None
        invoices.append(Invoices(st.partner, st.sign > 0, opening, other, st.lag, _entries(st, x)))
    if inventory is None:
        inventory = {a: [Affine() for _ in range(T)] for a in partners}
    return WorkingCapitalBook(partners, T, invoices, inventory, credit_lags)


def inventory_at_cost(d: PlanningData, value: Value) -> dict[str, list[Affine]]:
    """Per partner and end of period, stock at its sites and goods in transit to them, at
    standard cost (see the module docstring)."""
    T = d.T
    out = {a: [Affine() for _ in range(T)] for a in d.partners}
    for s, p in d.stock_keys:
        cost = d.standard_cost[p]
        if cost:
            x = value("inventory", (s, p))
            for t in range(T):
                out[d.site_partner[s]][t].add(cost, x[t])
    for ln, p in d.ship_keys:
        lead, cost = d.lane_lead[ln], d.standard_cost[p]
        if lead == 0 or cost == 0:
            continue
        owner = out[d.site_partner[d.lane_destination[ln]]]
        x = value("ship", (ln, p))
        for t in range(T):
            for u in range(max(0, t - lead + 1), t + 1):
                owner[t].add(cost, x[u])
    return out


def working_capital_book(d: PlanningData, value: Value) -> WorkingCapitalBook:
    """The book of a plan: numbers when ``value`` gives numbers (``Solution.series``), linear
    expressions when it gives the model's variables (``lambda f, k: grid_row(m, f, k)``)."""
    return book_of_streams(d.streams, d.partners, d.T, value, inventory_at_cost(d, value))


def cash_streams_of(cash_flows: pd.DataFrame, T: int) -> list[CashStream]:
    """A settled plan's ``cash_flows`` table (``partner, kind, counterparty, period_incurred,
    period_settled, amount``) as constant streams: one per partner, kind, counterparty, lag and
    sign, with ``coef[u]`` = the sum of |amount| incurred in u."""
    coefs: dict[tuple, np.ndarray] = {}
    for a, kind, other, u, s, amount in zip(
        cash_flows["partner"], cash_flows["kind"], cash_flows["counterparty"],
        cash_flows["period_incurred"], cash_flows["period_settled"], cash_flows["amount"],
    ):
        amount = float(amount)
        key = (a, kind, other if isinstance(other, str) else None, int(s) - int(u), 1 if amount > 0 else -1)
        if key not in coefs:
            coefs[key] = np.zeros(T)
        coefs[key][int(u)] += abs(amount)
    return [CashStream(a, kind, sign, coef, lag, counterparty=other) for (a, kind, other, lag, sign), coef in coefs.items()]


def working_capital_table(book: WorkingCapitalBook) -> pd.DataFrame:
    """The plan's ``working_capital`` table: per partner and period ``receivables`` +
    ``inventory_value`` (at standard cost, owned, in transit included) - ``payables`` =
    ``working_capital``, over the invoices of the horizon (balances from before it are left out)."""
    rows = []
    for a in book.partners:
        for t in range(book.T):
            ar = book.receivables_total(a, t, opening=False).value()
            ap = book.payables_total(a, t, opening=False).value() + 0.0  # + 0.0 turns -0.0 into 0.0
            inv = book.inventory[a][t].value()
            rows.append({"partner": a, "period": t, "receivables": ar, "inventory_value": inv, "payables": ap,
                         "working_capital": ar + inv - ap})
    return pd.DataFrame(rows, columns=["partner", "period", "receivables", "inventory_value", "payables", "working_capital"])
