"""Financing instruments as Pyomo variables and constraints on a block.

One formulation serves the standalone sizing model (:mod:`finance.sizing`, where collateral and
payables are numbers from a cash-flow table) and the joint mode through the planning model's
extension hook (where they may be linear expressions of plan variables). The host owns the cash
balance: it adds :meth:`InstrumentModel.cash_terms` to each partner's cash in each period, adds
:meth:`InstrumentModel.cost_terms` to its objective, and calls the constraint families.

Variables (``k = (partner, instrument id)``, ``t = 0..T-1``; ``t = -1`` holds opening balances):

- ``balance[k,t]`` credit lines (revolver, asset-based, inventory loan): drawn at the end of t;
- ``pledge[k,t]`` inventory value (at cost) pledged to an asset-based line or inventory loan;
- ``face[k,t]`` face value of receivables sold (factoring, reverse factoring) and not yet
  collected; ``sold[k,t]`` face value sold in t;
- ``borrow[k,t]`` fixed-tenor amount borrowed in t (repaid in t + tenor); ``issue[k,t]`` binary
  when a minimum amount applies;
- ``early[k,t]`` payments due in t (at the net term) paid ``shift`` periods earlier at a discount;
- ``one`` a variable fixed to 1 by its bounds, carrying constants into cash terms.

Cash effect in period t (money into the partner's cash), by instrument:

- credit line: ``balance[t] - (1 + rate[t]) balance[t-1] - fee[t] (limit[t] - balance[t-1])``;
- factoring: ``(a - fee) sold[t] - a rho[t] face[t-1] - discount[t] a face[t-1]``, where ``a`` is
  the advance rate and ``rho[t]`` the share of the receivables book collected in t (the sold
  invoices are collected like the rest; the factor keeps ``a`` of what it collects and returns
  the reserve, so relative to the operating cash flow the seller gives up ``a`` of it);
- fixed tenor: ``(1 - fee) borrow[t] - (1 + i) borrow[t-N] - opening repayment[t]``, with ``i``
  the interest over the tenor;
- early-payment discount: ``early[t] - (1 - d) early[t+shift]``.

Constraint families (stable names, see :data:`FINANCE_CONSTRAINT_FAMILIES`), each a function.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planning.data import as_array

from scenarios.finance import (
    AssetBasedLine,
    EarlyPaymentDiscount,
    EndPolicy,
    Factoring,
    FixedTenorLoan,
    InventoryLoan,
    PartnerFinance,
    ReverseFactoring,
    RevolvingCredit,
)

FINANCE_CONSTRAINT_FAMILIES = (
    "credit_limit",
    "draw_window",
    "borrowing_base",
    "inventory_pledge",
    "loan_to_value",
    "factoring_rollforward",
    "factoring_pool",
    "receivables_sold",
    "tenor_amount",
    "early_payment_limit",
    "end_repayment",
)

Affine = Any  # a number or a linear Pyomo expression


@dataclass
class PartnerInputs:
    """What the instruments of one partner lean on, per period t = 0..T-1.

    ``receivables``: all receivables open at the end of t (caps what may be sold).
    ``pools``: per instrument id, the receivables it may use: for an asset-based line its eligible
    receivables; for factoring the receivables the factor buys; for reverse factoring those owed by
    the buyer. ``inventory``: inventory at cost at the end of t. ``collection_rate``: share of the
    receivables book collected in t (how fast sold invoices are collected). ``payables_due``: per
    early-payment-discount id, the payments due in t at the net term that carry the discount.
    """

    partner: str
    receivables: Sequence[Affine]
    inventory: Sequence[Affine]
    collection_rate: np.ndarray
    pools: dict[str, Sequence[Affine]] = field(default_factory=dict)
    payables_due: dict[str, Sequence[Affine]] = field(default_factory=dict)
    big_m: float = 1e9  # bound on one fixed-tenor loan when a minimum amount makes it a MIP


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating))


@dataclass
class _Inst:
    partner: str
    spec: Any
    key: tuple[str, str]
    arrays: dict[str, np.ndarray]

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kind(self) -> str:
        return self.spec.type


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
        self.instruments: list[_Inst] = []
        for pf in partners:
            for inst in pf.instruments:
                arrays: dict[str, np.ndarray] = {}
                for name in ("rate", "commitment_fee", "discount_rate", "limit", "reserves"):
                    value = getattr(inst, name, None)
                    if value is not None:
                        arrays[name] = as_array(value, T)
                self.instruments.append(_Inst(pf.partner, inst, (pf.partner, inst.id), arrays))

    # -- groups --------------------------------------------------------------------------------

    def of(self, *types: type) -> list[_Inst]:
        return [i for i in self.instruments if isinstance(i.spec, types)]

    @property
    def lines(self) -> list[_Inst]:
        return self.of(RevolvingCredit, AssetBasedLine, InventoryLoan)

    @property
    def sales(self) -> list[_Inst]:
        return self.of(Factoring, ReverseFactoring)

    @property
    def tenors(self) -> list[_Inst]:
        return self.of(FixedTenorLoan)

    @property
    def discounts(self) -> list[_Inst]:
        return self.of(EarlyPaymentDiscount)

    @property
    def inventory_backed(self) -> list[_Inst]:
        return [i for i in self.of(InventoryLoan, AssetBasedLine)
                if isinstance(i.spec, InventoryLoan) or i.spec.inventory_advance_rate > 0]

    def window(self, inst: _Inst) -> tuple[int, int]:
        last = self.T - 1 if inst.spec.draw_until is None else min(inst.spec.draw_until, self.T - 1)
        return inst.spec.draw_from, last

    def in_window(self, inst: _Inst, t: int) -> bool:
        first, last = self.window(inst)
        return first <= t <= last

    def shift(self, inst: _Inst) -> int:
        s = inst.spec
        if s.shift_periods is not None:
            return int(s.shift_periods)
        return max(1, int(round((s.net_days - s.discount_days) / self.days_per_period)))

    def tenor_interest(self, inst: _Inst, t: int) -> float:
        s = inst.spec
        if s.tenor_rate is not None:
            return float(s.tenor_rate)
        return float(inst.arrays["rate"][t]) * s.tenor

    def mirrored(self, inst: _Inst) -> bool:
        """An early-payment discount whose supplier is a partner of the model: paying early moves
        the supplier's cash too."""
        return (
            isinstance(inst.spec, EarlyPaymentDiscount)
            and inst.spec.supplier in self.partner_set
            and inst.spec.supplier != inst.partner
        )

    def prepaid(self, b: pyo.Block, supplier: str, u: int, customers: Sequence[str] | None = None) -> list:
        """Invoices of ``supplier`` that a buyer in the model has paid early (at the end of u)
        but that were due later: no longer receivables the supplier can pledge or sell."""
        out = []
        for inst in self.discounts:
            if not self.mirrored(inst) or inst.spec.supplier != supplier:
                continue
            if customers is not None and inst.partner not in customers:
                continue
            k = self.shift(inst)
            out += [b.early[(*inst.key, t)] for t in range(u + 1, min(u + k, self.T - 1) + 1)]
        return out

    def pool_customers(self, inst: _Inst) -> list[str] | None:
        if isinstance(inst.spec, ReverseFactoring):
            return [inst.spec.buyer]
        if isinstance(inst.spec, Factoring):
            return inst.spec.customers
        return None

    def opening_face(self, inst: _Inst) -> float:
        return inst.spec.opening_balance / inst.spec.advance_rate

    # -- variables -----------------------------------------------------------------------------

    def declare(self, b: pyo.Block) -> None:
        T = self.T
        b.one = pyo.Var(bounds=(1.0, 1.0), initialize=1.0)
        opening = {i.key: float(i.spec.opening_balance) for i in self.lines}
        opening_face = {i.key: self.opening_face(i) for i in self.sales}

        def line_bounds(_b, a, n, t):
            return (opening[a, n], opening[a, n]) if t == -1 else (0.0, None)

        def face_bounds(_b, a, n, t):
            return (opening_face[a, n], opening_face[a, n]) if t == -1 else (0.0, None)

        span = range(-1, T)
        b.balance = pyo.Var([(*i.key, t) for i in self.lines for t in span], bounds=line_bounds)
        b.pledge = pyo.Var([(*i.key, t) for i in self.inventory_backed for t in range(T)], bounds=(0.0, None))
        b.face = pyo.Var([(*i.key, t) for i in self.sales for t in span], bounds=face_bounds)
        b.sold = pyo.Var([(*i.key, t) for i in self.sales for t in range(T)], bounds=(0.0, None))
        b.borrow = pyo.Var([(*i.key, t) for i in self.tenors for t in range(T)], bounds=(0.0, None))
        b.issue = pyo.Var(
            [(*i.key, t) for i in self.tenors if i.spec.min_amount > 0 for t in range(T)], domain=pyo.Binary
        )
        b.early = pyo.Var([(*i.key, t) for i in self.discounts for t in range(T)], bounds=(0.0, None))

    # -- constraint families ------------------------------------------------------------------

    def add_constraints(self, b: pyo.Block) -> None:
        for family in FAMILY_FUNCTIONS:
            family(b, self)

    # -- money ---------------------------------------------------------------------------------

    def money(self, b: pyo.Block, inst: _Inst, t: int) -> dict[str, list[tuple[float, Any]]]:
        """The instrument's cash in period t as linear terms: ``principal`` (net money in),
        ``interest`` and ``fees`` (paid), ``income`` (discount taken, a gain already inside
        principal)."""
        s, (a, n) = inst.spec, inst.key
        out: dict[str, list[tuple[float, Any]]] = {"principal": [], "interest": [], "fees": [], "income": []}
        if isinstance(s, (RevolvingCredit, AssetBasedLine, InventoryLoan)):
            out["principal"] += [(1.0, b.balance[a, n, t]), (-1.0, b.balance[a, n, t - 1])]
            r = float(inst.arrays["rate"][t])
            if r:
                out["interest"].append((r, b.balance[a, n, t - 1]))
            fee = float(inst.arrays.get("commitment_fee", np.zeros(self.T))[t])
            if fee and "limit" in inst.arrays:
                out["fees"] += [(fee * float(inst.arrays["limit"][t]), b.one), (-fee, b.balance[a, n, t - 1])]
        elif isinstance(s, (Factoring, ReverseFactoring)):
            adv = s.advance_rate
            rho = float(self.inputs[a].collection_rate[t])
            disc = float((inst.arrays["discount_rate"] if isinstance(s, Factoring) else inst.arrays["rate"])[t])
            out["principal"] += [(adv, b.sold[a, n, t])]
            if rho:
                out["principal"].append((-adv * rho, b.face[a, n, t - 1]))
            if disc:
                out["interest"].append((disc * adv, b.face[a, n, t - 1]))
            if s.fee:
                out["fees"].append((s.fee, b.sold[a, n, t]))
        elif isinstance(s, FixedTenorLoan):
            N = s.tenor
            out["principal"].append((1.0, b.borrow[a, n, t]))
            if t - N >= 0:
                out["principal"].append((-1.0, b.borrow[a, n, t - N]))
                i = self.tenor_interest(inst, t - N)
                if i:
                    out["interest"].append((i, b.borrow[a, n, t - N]))
            if t < len(s.opening_repayments) and s.opening_repayments[t]:
                out["principal"].append((-float(s.opening_repayments[t]), b.one))
            if s.fee:
                out["fees"].append((s.fee, b.borrow[a, n, t]))
        elif isinstance(s, EarlyPaymentDiscount):
            k = self.shift(inst)
            out["principal"].append((1.0, b.early[a, n, t]))
            if t + k < self.T:
                out["principal"].append((-(1.0 - s.discount), b.early[a, n, t + k]))
            out["income"].append((s.discount, b.early[a, n, t]))
        return out

    def mirror_money(self, b: pyo.Block, inst: _Inst, t: int) -> dict[str, list[tuple[float, Any]]]:
        """The supplier's side of an early payment by a partner of the model, in period t: it
        receives (1 - d) of the invoices due in t + shift and no longer collects those due in t;
        ``cost`` is the discount it gives on the invoices due in t."""
        a, n = inst.key
        d, k = inst.spec.discount, self.shift(inst)
        principal = [(-1.0, b.early[a, n, t])]
        if t + k < self.T:
            principal.append((1.0 - d, b.early[a, n, t + k]))
        return {"principal": principal, "cost": [(d, b.early[a, n, t])]}

    def cash_terms(self, b: pyo.Block) -> Iterator[tuple[str, int, float, Any]]:
        """(partner, period, coefficient, variable): money into the partner's cash."""
        for inst in self.instruments:
            for t in range(self.T):
                mo = self.money(b, inst, t)
                for c, v in mo["principal"]:
                    yield inst.partner, t, c, v
                for c, v in mo["interest"] + mo["fees"]:
                    yield inst.partner, t, -c, v
                if self.mirrored(inst):
                    for c, v in self.mirror_money(b, inst, t)["principal"]:
                        yield inst.spec.supplier, t, c, v

    def accrued_terms(self, b: pyo.Block, inst: _Inst) -> list[tuple[float, Any]]:
        """Interest accrued by the end of the horizon on fixed-tenor loans maturing after it."""
        out = []
        if isinstance(inst.spec, FixedTenorLoan):
            a, n = inst.key
            N = inst.spec.tenor
            for u in range(max(0, self.T - N), self.T):
                i = self.tenor_interest(inst, u) * (self.T - 1 - u) / N
                if i:
                    out.append((i, b.borrow[a, n, u]))
        return out

    def cost_terms(self, b: pyo.Block, partner: str | None = None) -> Iterator[tuple[float, Any]]:
        """Financing cost (positive = cost): interest, fees and interest accrued on loans carried
        past the horizon, less early-payment discounts taken, plus discounts a partner gives a
        partner of the model that pays it early. Deposit interest is the host's."""
        for inst in self.instruments:
            if self.mirrored(inst) and (partner is None or inst.spec.supplier == partner):
                for t in range(self.T):
                    yield from self.mirror_money(b, inst, t)["cost"]
            if partner is not None and inst.partner != partner:
                continue
            for t in range(self.T):
                mo = self.money(b, inst, t)
                yield from mo["interest"]
                yield from mo["fees"]
                for c, v in mo["income"]:
                    yield -c, v
            yield from self.accrued_terms(b, inst)

    def ending_debt_terms(self, b: pyo.Block, partner: str | None = None) -> Iterator[tuple[float, Any]]:
        """What is still owed at the end of the horizon: balances, advances on sold receivables,
        fixed-tenor principal not yet repaid and its accrued interest."""
        T = self.T
        for inst in self.instruments:
            if partner is not None and inst.partner != partner:
                continue
            a, n = inst.key
            s = inst.spec
            if isinstance(s, (RevolvingCredit, AssetBasedLine, InventoryLoan)):
                yield 1.0, b.balance[a, n, T - 1]
            elif isinstance(s, (Factoring, ReverseFactoring)):
                yield s.advance_rate, b.face[a, n, T - 1]
            elif isinstance(s, FixedTenorLoan):
                for u in range(max(0, T - s.tenor), T):
                    yield 1.0, b.borrow[a, n, u]
                yield from self.accrued_terms(b, inst)
                rest = float(sum(s.opening_repayments[T:]))
                if rest:
                    yield rest, b.one

    # -- reading -------------------------------------------------------------------------------

    def read(self, b: pyo.Block) -> pd.DataFrame:
        """One row per instrument and period: balances, money moved, collateral and headroom."""
        T = self.T
        val = _values(b)
        rows: list[dict[str, Any]] = []
        needed_pledge = self._needed_pledges(b, val)
        for inst in self.instruments:
            a, n = inst.key
            s = inst.spec
            inp = self.inputs[a]
            for t in range(T):
                mo = self.money(b, inst, t)
                ev = lambda terms: float(sum(c * val(v) for c, v in terms))  # noqa: E731
                principal = ev(mo["principal"])
                row: dict[str, Any] = {
                    "partner": a,
                    "instrument": n,
                    "type": inst.kind,
                    "period": t,
                    "opening_balance": 0.0,
                    "inflow": max(0.0, principal),
                    "outflow": max(0.0, -principal),
                    "closing_balance": 0.0,
                    "interest": ev(mo["interest"]),
                    "fees": ev(mo["fees"]),
                    "discount_taken": ev(mo["income"]),
                    "limit": float(inst.arrays["limit"][t]) if "limit" in inst.arrays else np.nan,
                    "availability": np.nan,
                    "headroom": np.nan,
                    "collateral": np.nan,
                    "coverage": np.nan,
                }
                if isinstance(s, (RevolvingCredit, AssetBasedLine, InventoryLoan)):
                    bal, prev = val(b.balance[a, n, t]), val(b.balance[a, n, t - 1])
                    row["opening_balance"], row["closing_balance"] = prev, bal
                    avail, collateral = self._line_availability(b, val, inst, t, needed_pledge)
                    row["availability"], row["collateral"] = avail, collateral
                elif isinstance(s, (Factoring, ReverseFactoring)):
                    face, prev = val(b.face[a, n, t]), val(b.face[a, n, t - 1])
                    row["opening_balance"], row["closing_balance"] = s.advance_rate * prev, s.advance_rate * face
                    row["face_sold"] = val(b.sold[a, n, t])
                    row["face_outstanding"] = face
                    others = sum(val(b.face[(*o.key, t)]) for o in self.sales if o.partner == a and o is not inst)
                    pre = sum(val(v) for v in self.prepaid(b, a, t, self.pool_customers(inst)))
                    pre_all = sum(val(v) for v in self.prepaid(b, a, t))
                    room = min(_num(inp.pools[n][t], val) - pre, _num(inp.receivables[t], val) - others - pre_all)
                    avail = s.advance_rate * max(0.0, room)
                    if "limit" in inst.arrays:
                        avail = min(avail, float(inst.arrays["limit"][t]))
                    row["availability"] = avail
                    row["collateral"] = face
                elif isinstance(s, FixedTenorLoan):
                    N = s.tenor
                    out_t = sum(val(b.borrow[a, n, u]) for u in range(max(0, t - N + 1), t + 1))
                    out_p = sum(val(b.borrow[a, n, u]) for u in range(max(0, t - N), t))
                    rest = float(sum(s.opening_repayments[t + 1:]))
                    rest_p = float(sum(s.opening_repayments[t:]))
                    row["opening_balance"], row["closing_balance"] = out_p + rest_p, out_t + rest
                    row["borrowed"] = val(b.borrow[a, n, t])
                    if "limit" in inst.arrays:
                        row["availability"] = float(inst.arrays["limit"][t])
                elif isinstance(s, EarlyPaymentDiscount):
                    k = self.shift(inst)
                    due = _num(inp.payables_due[n][t], val)
                    row["payables_due"] = due
                    row["paid_early_face"] = val(b.early[a, n, t + k]) if t + k < T else 0.0
                    row["settled_early_face"] = val(b.early[a, n, t])
                    row["inflow"] = val(b.early[a, n, t])
                    row["outflow"] = (1.0 - s.discount) * row["paid_early_face"]
                    row["availability"] = _num(inp.payables_due[n][t + k], val) if t + k < T else 0.0
                    row["headroom"] = row["availability"] - row["paid_early_face"]
                if isinstance(s, (RevolvingCredit, AssetBasedLine, InventoryLoan, Factoring, ReverseFactoring, FixedTenorLoan)):
                    if not np.isnan(row["availability"]):
                        row["headroom"] = row["availability"] - row["closing_balance"]
                    if not np.isnan(row["collateral"]) and row["closing_balance"] > 1e-9:
                        row["coverage"] = row["collateral"] / row["closing_balance"]
                rows.append(row)
                if self.mirrored(inst):
                    mm = self.mirror_money(b, inst, t)
                    k = self.shift(inst)
                    early_t = val(b.early[a, n, t])
                    early_k = val(b.early[a, n, t + k]) if t + k < T else 0.0
                    rows.append(
                        {
                            "partner": s.supplier,
                            "instrument": f"{n}@{a}",
                            "type": "early_payment_received",
                            "period": t,
                            "opening_balance": 0.0,
                            "inflow": (1.0 - s.discount) * early_k,
                            "outflow": early_t,
                            "closing_balance": 0.0,
                            "interest": 0.0,
                            "fees": 0.0,
                            "discount_taken": 0.0,
                            "discount_given": float(sum(c * val(v) for c, v in mm["cost"])),
                            "paid_early_face": early_k,
                            "settled_early_face": early_t,
                        }
                    )
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

    def _needed_pledges(self, b: pyo.Block, val) -> dict[tuple[str, str, int], float]:
        """The least inventory each inventory-backed instrument needs for its solved balance."""
        need: dict[tuple[str, str, int], float] = {}
        for inst in self.inventory_backed:
            a, n = inst.key
            for t in range(self.T):
                bal = val(b.balance[a, n, t])
                if isinstance(inst.spec, InventoryLoan):
                    need[a, n, t] = bal / inst.spec.loan_to_value
                else:
                    ar = self._ar_collateral(b, val, inst, t)
                    s = inst.spec
                    rest = bal - s.receivables_advance_rate * ar + float(inst.arrays["reserves"][t])
                    need[a, n, t] = max(0.0, rest / s.inventory_advance_rate)
        return need

    def _ar_collateral(self, b, val, inst: _Inst, t: int) -> float:
        a, n = inst.key
        sold = sum(val(b.face[(*o.key, t)]) for o in self.sales if o.partner == a)
        sold += sum(val(v) for v in self.prepaid(b, a, t))
        return max(0.0, _num(self.inputs[a].pools[n][t], val) - sold)

    def _line_availability(self, b, val, inst: _Inst, t: int, need) -> tuple[float, float]:
        """Availability of a credit line at the end of t given the other instruments' solved use of
        shared collateral; and the collateral value it rests on."""
        a, n = inst.key
        s = inst.spec
        limit = float(inst.arrays["limit"][t]) if "limit" in inst.arrays else np.inf
        if not self.in_window(inst, t):
            limit = min(limit, val(b.balance[a, n, t - 1]))
        if isinstance(s, RevolvingCredit):
            return limit, np.nan
        inventory = _num(self.inputs[a].inventory[t], val)
        others = sum(v for (pa, pn, pt), v in need.items() if pa == a and pt == t and pn != n)
        free_inv = max(0.0, inventory - others)
        if isinstance(s, InventoryLoan):
            return min(limit, s.loan_to_value * free_inv), free_inv
        ar = self._ar_collateral(b, val, inst, t)
        inv = free_inv if s.inventory_advance_rate > 0 else 0.0
        base = s.receivables_advance_rate * ar + s.inventory_advance_rate * inv - float(inst.arrays["reserves"][t])
        return min(limit, max(0.0, base)), ar + inv


def _values(b: pyo.Block):
    def val(v) -> float:
        x = v.value
        return 0.0 if x is None else float(x)

    return val


def _num(x: Affine, val) -> float:
    if _is_number(x):
        return float(x)
    return float(pyo.value(x, exception=False) or 0.0)


# ---------------------------------------------------------------------------------------------
# Constraint families
# ---------------------------------------------------------------------------------------------


def _add(b: pyo.Block, name: str, rows: list[tuple[tuple, Any]]) -> None:
    """Declare one indexed constraint family from (index, relational expression) rows."""
    exprs = dict(rows)
    setattr(b, f"{name}_index", pyo.Set(initialize=list(exprs), dimen=None, ordered=True))
    setattr(b, name, pyo.Constraint(getattr(b, f"{name}_index"), rule=lambda _b, *idx: exprs[idx]))


def credit_limit(b: pyo.Block, fm: InstrumentModel) -> None:
    """balance[k,t] <= limit[t] (credit lines); advance_rate x face[k,t] <= limit[t] (factoring);
    fixed-tenor principal outstanding <= limit[t]."""
    rows = []
    for inst in fm.instruments:
        if "limit" not in inst.arrays:
            continue
        a, n = inst.key
        s = inst.spec
        for t in range(fm.T):
            lim = float(inst.arrays["limit"][t])
            if isinstance(s, (RevolvingCredit, AssetBasedLine, InventoryLoan)):
                rows.append(((a, n, t), b.balance[a, n, t] <= lim))
            elif isinstance(s, (Factoring, ReverseFactoring)):
                rows.append(((a, n, t), s.advance_rate * b.face[a, n, t] <= lim))
            elif isinstance(s, FixedTenorLoan):
                live = [b.borrow[a, n, u] for u in range(max(0, t - s.tenor + 1), t + 1)]
                rest = float(sum(s.opening_repayments[t + 1:]))
                rows.append(((a, n, t), sum(live) <= lim - rest))
    _add(b, "credit_limit", rows)


def draw_window(b: pyo.Block, fm: InstrumentModel) -> None:
    """Outside an instrument's window nothing new is drawn, sold, borrowed or paid early:
    balance[t] <= balance[t-1]; sold[t] = 0; borrow[t] = 0; early[t] = 0 where t - shift is
    outside the window (or before period 0)."""
    rows = []
    for inst in fm.instruments:
        a, n = inst.key
        for t in range(fm.T):
            if isinstance(inst.spec, EarlyPaymentDiscount):
                pay_t = t - fm.shift(inst)
                if pay_t < 0 or not fm.in_window(inst, pay_t):
                    rows.append(((a, n, t), b.early[a, n, t] <= 0))
                continue
            if fm.in_window(inst, t):
                continue
            if isinstance(inst.spec, (RevolvingCredit, AssetBasedLine, InventoryLoan)):
                rows.append(((a, n, t), b.balance[a, n, t] - b.balance[a, n, t - 1] <= 0))
            elif isinstance(inst.spec, (Factoring, ReverseFactoring)):
                rows.append(((a, n, t), b.sold[a, n, t] <= 0))
            elif isinstance(inst.spec, FixedTenorLoan):
                rows.append(((a, n, t), b.borrow[a, n, t] <= 0))
    _add(b, "draw_window", rows)


def borrowing_base(b: pyo.Block, fm: InstrumentModel) -> None:
    """Asset-based line: balance[k,t] <= ar_rate x (eligible receivables[t] - receivables sold[t])
    + inventory_rate x pledge[k,t] - reserves[t]. Where even all the collateral could not cover
    the reserves (numbers known in advance) nothing is available: balance[k,t] <= 0."""
    rows = []
    for inst in fm.of(AssetBasedLine):
        a, n = inst.key
        s = inst.spec
        inp = fm.inputs[a]
        sold = [o for o in fm.sales if o.partner == a]
        for t in range(fm.T):
            pool = inp.pools[n][t]
            reserve = float(inst.arrays["reserves"][t])
            if _is_number(pool) and _is_number(inp.inventory[t]):
                most = s.receivables_advance_rate * float(pool) + s.inventory_advance_rate * float(inp.inventory[t])
                if most < reserve:
                    rows.append(((a, n, t), b.balance[a, n, t] <= 0))
                    continue
            used = sum(b.face[(*o.key, t)] for o in sold) + sum(fm.prepaid(b, a, t))
            rhs = s.receivables_advance_rate * (pool - used) - reserve
            if s.inventory_advance_rate > 0:
                rhs = rhs + s.inventory_advance_rate * b.pledge[a, n, t]
            rows.append(((a, n, t), b.balance[a, n, t] <= rhs))
    _add(b, "borrowing_base", rows)


def inventory_pledge(b: pyo.Block, fm: InstrumentModel) -> None:
    """sum over a partner's inventory-backed instruments of pledge[k,t] <= inventory[t] (at cost):
    the same stock is not pledged twice."""
    rows = []
    by_partner: dict[str, list] = defaultdict(list)
    for inst in fm.inventory_backed:
        by_partner[inst.partner].append(inst)
    for a, insts in by_partner.items():
        for t in range(fm.T):
            rows.append(((a, t), sum(b.pledge[(*i.key, t)] for i in insts) <= fm.inputs[a].inventory[t]))
    _add(b, "inventory_pledge", rows)


def loan_to_value(b: pyo.Block, fm: InstrumentModel) -> None:
    """Inventory loan: balance[k,t] <= loan_to_value x pledge[k,t]."""
    rows = []
    for inst in fm.of(InventoryLoan):
        a, n = inst.key
        for t in range(fm.T):
            rows.append(((a, n, t), b.balance[a, n, t] <= inst.spec.loan_to_value * b.pledge[a, n, t]))
    _add(b, "loan_to_value", rows)


def factoring_rollforward(b: pyo.Block, fm: InstrumentModel) -> None:
    """face[k,t] = (1 - collection_rate[t]) x face[k,t-1] + sold[k,t]."""
    rows = []
    for inst in fm.sales:
        a, n = inst.key
        rho = fm.inputs[a].collection_rate
        for t in range(fm.T):
            rows.append(
                ((a, n, t), b.face[a, n, t] == (1.0 - float(rho[t])) * b.face[a, n, t - 1] + b.sold[a, n, t])
            )
    _add(b, "factoring_rollforward", rows)


def factoring_pool(b: pyo.Block, fm: InstrumentModel) -> None:
    """face[k,t] <= the receivables the factor (or the buyer's programme) may buy at the end of t,
    less invoices of those customers already paid early under an early-payment discount."""
    rows = []
    for inst in fm.sales:
        a, n = inst.key
        pool = fm.inputs[a].pools[n]
        for t in range(fm.T):
            prepaid = fm.prepaid(b, a, t, fm.pool_customers(inst))
            rows.append(((a, n, t), b.face[a, n, t] + sum(prepaid) <= pool[t]))
    _add(b, "factoring_pool", rows)


def receivables_sold(b: pyo.Block, fm: InstrumentModel) -> None:
    """sum over a partner's factoring programmes of face[k,t] (+ its invoices paid early by a
    partner of the model) <= its receivables at the end of t."""
    rows = []
    by_partner: dict[str, list] = defaultdict(list)
    for inst in fm.sales:
        by_partner[inst.partner].append(inst)
    for a, insts in by_partner.items():
        if len(insts) < 2 and not any(fm.mirrored(e) and e.spec.supplier == a for e in fm.discounts):
            continue
        for t in range(fm.T):
            used = sum(b.face[(*i.key, t)] for i in insts) + sum(fm.prepaid(b, a, t))
            rows.append(((a, t), used <= fm.inputs[a].receivables[t]))
    _add(b, "receivables_sold", rows)


def tenor_amount(b: pyo.Block, fm: InstrumentModel) -> None:
    """borrow[k,t] <= max_amount; with a minimum: min_amount x issue[k,t] <= borrow[k,t] <=
    (max_amount or big M) x issue[k,t]; a loan that would mature after the horizon is not taken
    when the instrument must be repaid by the end."""
    rows = []
    for inst in fm.tenors:
        a, n = inst.key
        s = inst.spec
        for t in range(fm.T):
            if s.at_end == EndPolicy.repay and t + s.tenor > fm.T - 1:
                continue  # end_repayment forbids it
            if s.min_amount > 0:
                cap = s.max_amount if s.max_amount is not None else fm.inputs[a].big_m
                rows.append(((a, n, t, "min"), b.borrow[a, n, t] - s.min_amount * b.issue[a, n, t] >= 0))
                rows.append(((a, n, t, "max"), b.borrow[a, n, t] - cap * b.issue[a, n, t] <= 0))
            elif s.max_amount is not None:
                rows.append(((a, n, t, "max"), b.borrow[a, n, t] <= s.max_amount))
    _add(b, "tenor_amount", rows)


def early_payment_limit(b: pyo.Block, fm: InstrumentModel) -> None:
    """early[k,t] <= payments due in t at the net term that carry the discount."""
    rows = []
    for inst in fm.discounts:
        a, n = inst.key
        due = fm.inputs[a].payables_due[n]
        for t in range(fm.T):
            rows.append(((a, n, t), b.early[a, n, t] <= due[t]))
    _add(b, "early_payment_limit", rows)


def end_repayment(b: pyo.Block, fm: InstrumentModel) -> None:
    """Instruments that must be repaid by the end: balance[k,T-1] = 0, face[k,T-1] = 0, and no
    fixed-tenor loan maturing after period T-1 (borrow[k,t] = 0 for t + tenor > T-1)."""
    rows = []
    T = fm.T
    for inst in fm.instruments:
        if inst.spec.at_end != EndPolicy.repay:
            continue
        a, n = inst.key
        s = inst.spec
        if isinstance(s, (RevolvingCredit, AssetBasedLine, InventoryLoan)):
            rows.append(((a, n, T - 1), b.balance[a, n, T - 1] <= 0))
        elif isinstance(s, (Factoring, ReverseFactoring)):
            rows.append(((a, n, T - 1), b.face[a, n, T - 1] <= 0))
        elif isinstance(s, FixedTenorLoan):
            for t in range(max(0, T - s.tenor), T):
                rows.append(((a, n, t), b.borrow[a, n, t] <= 0))
    _add(b, "end_repayment", rows)


FAMILY_FUNCTIONS = (
    credit_limit,
    draw_window,
    borrowing_base,
    inventory_pledge,
    loan_to_value,
    factoring_rollforward,
    factoring_pool,
    receivables_sold,
    tenor_amount,
    early_payment_limit,
    end_repayment,
)
