"""Financing instruments as Pyomo variables and constraints on a block.

One formulation serves the standalone sizing model (:mod:`finance.sizing`, where collateral and
payables are numbers from a cash-flow table) and the joint mode through the planning model's
extension hook (where they may be linear expressions of plan variables). The host owns the cash
balance: it adds :meth:`InstrumentModel.cash_terms` to each partner's cash in each period, adds
:meth:`InstrumentModel.cost_terms` to its objective, and calls :meth:`InstrumentModel.add_constraints`.

Each instrument is an object of its kind's class (:mod:`finance.instruments`, found by the input
model's ``type``): it declares its entries of the variable families, its money per period, its
rows of the constraint families, its cost, ending debt and read-back rows. This module only
gathers them, in a fixed order (variables ``one`` then ``balance``, ``pledge``, ``face``,
``sold``, ``borrow``, ``issue``, ``early``, ...; constraint families
:data:`FINANCE_CONSTRAINT_FAMILIES`), and writes the rows that several instruments of a partner
share: ``inventory_pledge`` (the same stock is not pledged twice) and ``receivables_sold``
(the same invoice is not sold or paid early twice).

Variables are indexed ``(partner, instrument id, t, ...)``, ``t = 0..T-1`` (``t = -1`` holds
opening balances); ``one`` is a variable fixed to 1 by its bounds, carrying constants into cash
terms.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from scenarios.finance import PartnerFinance

from .instruments import BaseInstrument, constraint_families, kind_of, variable_families
from .instruments.base import Row

FINANCE_CONSTRAINT_FAMILIES = constraint_families()
"""The constraint families of the registered instrument kinds (stable names)."""
FINANCE_LIMIT_FAMILIES = tuple(f for f in FINANCE_CONSTRAINT_FAMILIES if f not in ("draw_window", "factoring_rollforward"))
"""The families that are limits (a line's limit, a borrowing base, a programme's pool, ...): what
a plan or a funding reports as binding, with shadow prices; not the draw windows (bounds) nor
the balances rolled forward (equalities)."""

Affine = Any  # a number or a linear Pyomo expression


@dataclass
class PartnerInputs:
    """What the instruments of one partner lean on, per period t = 0..T-1.

    ``receivables``: all receivables open at the end of t (caps what may be sold).
    ``pools``: per instrument id, the receivables it may use: for an asset-based line its eligible
    receivables; for factoring the receivables the factor buys; for reverse factoring those owed by
    the buyer. ``inventory``: inventory at cost at the end of t. ``collection_rate``: share of the
    receivables book collected in t (how fast sold invoices are collected). ``payables_due``: per
    early-payment id, the payments due in t at the net term that may be paid early.
    """

    partner: str
    receivables: Sequence[Affine]
    inventory: Sequence[Affine]
    collection_rate: np.ndarray
    pools: dict[str, Sequence[Affine]] = field(default_factory=dict)
    payables_due: dict[str, Sequence[Affine]] = field(default_factory=dict)
    big_m: float = 1e9  # bound on one fixed-tenor loan when a minimum amount makes it a MIP


def loan_bound(cash_need: float, min_cash: np.ndarray, opening_cash: float, instruments: Iterable[Any]) -> float:
    """Big M on one fixed-tenor loan with a minimum amount: no loan is larger than the partner's
    whole cash need (``cash_need``: the sum of its operating outflows, or a bound on them), its
    largest minimum cash, its opening cash and what it owes from before the horizon, plus 1."""
    big_m = cash_need + float(np.abs(min_cash).max()) + abs(opening_cash) + 1.0
    big_m += sum(kind_of(i.type).opening_owed(i) for i in instruments)
    return big_m


class InstrumentModel:
    """The instruments of several partners over T periods, declared on one Pyomo block."""

    def __init__(
        self,
        partners: Sequence[PartnerFinance],
        inputs: dict[str, PartnerInputs],
        T: int,
        *,
        days_per_period: float = 365.0 / 12,
    ):
        self.T = T
        self.days_per_period = days_per_period
        self.partners = [p.partner for p in partners]
        self.partner_set = set(self.partners)
        self.inputs = inputs
        self.instruments: list[BaseInstrument] = [
            kind_of(inst.type)(pf.partner, inst, T, days_per_period) for pf in partners for inst in pf.instruments
        ]

    # -- what instruments of a partner share ------------------------------------------------------

    def receivables_taken(self, b: pyo.Block, a: str, t: int, *, skip: BaseInstrument | None = None) -> list:
        """Face value of partner ``a``'s receivables held by its instruments at the end of t (sold)."""
        return [v for i in self.instruments if i.partner == a and i is not skip for v in i.receivables_taken(b, t)]

    def prepaid(self, b: pyo.Block, supplier: str, u: int, customers: Sequence[str] | None = None) -> list:
        """Invoices of ``supplier`` that a buyer in the model has paid early (at the end of u)
        but that were due later: no longer receivables the supplier can pledge or sell."""
        return [v for i in self.instruments for v in i.prepaid(b, self, supplier, u, customers)]

    def prepays_to(self, a: str) -> bool:
        return any(i.pays_early_to(self) == a for i in self.instruments)

    # -- variables -----------------------------------------------------------------------------

    def declare(self, b: pyo.Block) -> None:
        """``one``, then each variable family of the registered kinds with the instruments' entries."""
        b.one = pyo.Var(bounds=(1.0, 1.0), initialize=1.0)
        entries = defaultdict(list)
        for inst in self.instruments:
            for e in inst.variables(self):
                entries[e.family].append(e)
        for name, domain in variable_families().items():
            index = [e.index for e in entries[name]]
            if domain is not None:
                setattr(b, name, pyo.Var(index, domain=domain))
            else:
                bounds = {e.index: e.bounds for e in entries[name]}
                setattr(b, name, pyo.Var(index, bounds=lambda _b, *idx, _bounds=bounds: _bounds[idx]))

    # -- constraint families ------------------------------------------------------------------

    def add_constraints(self, b: pyo.Block) -> None:
        """Every constraint family of the registered kinds (empty ones too: stable names), each
        with the instruments' rows in instrument order, or the shared rows of a partner."""
        rows: dict[str, list[Row]] = defaultdict(list)
        for inst in self.instruments:
            for family, r in inst.constraints(b, self).items():
                if family not in inst.families:
                    raise ValueError(f"{type(inst).__name__} adds rows to '{family}', not one of its families {inst.families}")
                rows[family] += r
        for family in constraint_families():
            shared = SHARED_FAMILIES.get(family)
            _add(b, family, shared(b, self) if shared is not None else rows[family])

    # -- money ---------------------------------------------------------------------------------

    def cash_terms(self, b: pyo.Block) -> Iterator[tuple[str, int, float, Any]]:
        """(partner, period, coefficient, variable): money into the partner's cash."""
        for inst in self.instruments:
            for t in range(self.T):
                mo = inst.money(b, self, t)
                for c, v in mo["principal"]:
                    yield inst.partner, t, c, v
                for c, v in mo["interest"] + mo["fees"]:
                    yield inst.partner, t, -c, v
                for a, c, v in inst.other_cash(b, self, t):
                    yield a, t, c, v

    def accrued_terms(self, b: pyo.Block, inst: BaseInstrument) -> list[tuple[float, Any]]:
        """Interest accrued by the end of the horizon on loans maturing after it."""
        return inst.accrued_terms(b, self)

    def cost_terms(self, b: pyo.Block, partner: str | None = None) -> Iterator[tuple[float, Any]]:
        """Financing cost (positive = cost): interest, fees and interest accrued on loans carried
        past the horizon, less early-payment discounts taken, plus discounts a partner gives a
        partner of the model that pays it early. Deposit interest is the host's."""
        for inst in self.instruments:
            yield from inst.cost_terms(b, self, partner)

    def ending_debt_terms(self, b: pyo.Block, partner: str | None = None) -> Iterator[tuple[float, Any]]:
        """What is still owed at the end of the horizon: balances, advances on sold receivables,
        fixed-tenor principal not yet repaid and its accrued interest."""
        for inst in self.instruments:
            if partner is None or inst.partner == partner:
                yield from inst.ending_debt_terms(b, self)

    def opening_due(self) -> list[dict[str, Any]]:
        """Opening balances each instrument must repay within the horizon (partner, instrument,
        type, period, amount, when)."""
        return [{"partner": i.partner, "instrument": i.id, "type": i.kind, **d} for i in self.instruments
                for d in i.opening_due()]

    # -- reading -------------------------------------------------------------------------------

    def read(self, b: pyo.Block) -> pd.DataFrame:
        """One row per instrument and period: balances, money moved, collateral and headroom."""
        val = _values(b)
        need: dict[tuple[str, str, int], float] = {}  # the least inventory each line needs pledged
        for inst in self.instruments:
            for t in range(self.T):
                x = inst.needed_pledge(b, self, val, t)
                if x is not None:
                    need[(*inst.key, t)] = x
        rows: list[dict[str, Any]] = []
        for inst in self.instruments:
            rows += inst.read(b, self, val, need)
        cols = ["partner", "instrument", "type", "period", "opening_balance", "inflow", "outflow", "closing_balance",
                "interest", "fees", "discount_taken", "discount_given", "limit", "availability", "headroom",
                "collateral", "coverage"]
        df = pd.DataFrame(rows)
        if df.empty:
            return pd.DataFrame(columns=cols)
        if "discount_given" not in df:
            df["discount_given"] = 0.0
        df["discount_given"] = df["discount_given"].fillna(0.0)
        extra = [c for c in df.columns if c not in cols]
        df = df[cols + extra]
        order = {a: i for i, a in enumerate(self.partners)}
        df = df.sort_values(["partner", "instrument", "period"], key=lambda c: c.map(order) if c.name == "partner" else c,
                            kind="stable").reset_index(drop=True)
        num = df.select_dtypes("number").columns.drop("period")
        df[num] = df[num].mask(df[num].abs() < 1e-9, 0.0) + 0.0  # no -0.0 or solver dust
        return df


def _values(b: pyo.Block):
    def val(v) -> float:
        x = v.value
        return 0.0 if x is None else float(x)

    return val


# ---------------------------------------------------------------------------------------------
# Constraint families shared by the instruments of a partner
# ---------------------------------------------------------------------------------------------


def _add(b: pyo.Block, name: str, rows: list[Row]) -> None:
    """Declare one indexed constraint family from (index, relational expression) rows."""
    exprs = dict(rows)
    setattr(b, f"{name}_index", pyo.Set(initialize=list(exprs), dimen=None, ordered=True))
    setattr(b, name, pyo.Constraint(getattr(b, f"{name}_index"), rule=lambda _b, *idx: exprs[idx]))


def inventory_pledge(b: pyo.Block, fm: InstrumentModel) -> list[Row]:
    """sum over a partner's inventory-backed instruments of pledge[k,t] <= inventory[t] (at cost):
    the same stock is not pledged twice."""
    rows = []
    by_partner: dict[str, list] = defaultdict(list)
    for inst in fm.instruments:
        if inst.pledges_inventory:
            by_partner[inst.partner].append(inst)
    for a, insts in by_partner.items():
        for t in range(fm.T):
            rows.append(((a, t), sum(i.inventory_pledged(b, t) for i in insts) <= fm.inputs[a].inventory[t]))
    return rows


def receivables_sold(b: pyo.Block, fm: InstrumentModel) -> list[Row]:
    """sum over a partner's factoring programmes of face[k,t] (+ its invoices paid early by a
    partner of the model) <= its receivables at the end of t (written when two programmes, or a
    programme and early payments, share the receivables)."""
    rows = []
    by_partner: dict[str, list] = defaultdict(list)
    for inst in fm.instruments:
        if inst.receivables_taken(b, 0):
            by_partner[inst.partner].append(inst)
    for a, insts in by_partner.items():
        if len(insts) < 2 and not fm.prepays_to(a):
            continue
        for t in range(fm.T):
            used = sum(v for i in insts for v in i.receivables_taken(b, t)) + sum(fm.prepaid(b, a, t))
            rows.append(((a, t), used <= fm.inputs[a].receivables[t]))
    return rows


SHARED_FAMILIES = {"inventory_pledge": inventory_pledge, "receivables_sold": receivables_sold}
