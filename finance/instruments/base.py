"""What every instrument kind provides, its common base, and the registry by ``type``.

An instrument kind is one class (:class:`InstrumentKind`): it declares its entries of the block's
variable families, its money per period (cash terms), its rows of the constraint families, its
cost, its ending debt, its read-back rows and its checks against a cash-flow table. The host
(:class:`finance.formulation.InstrumentModel`) never asks which kind it holds: it calls these
methods on every instrument, found through :func:`kind_of` from the input model's ``type``.

Variables and constraint families are shared Pyomo components on the block, indexed by
``(partner, instrument id, period, ...)``, so their names are stable whichever kinds a model
holds (``finance.balance[maker,rcf,3]``, ``finance.credit_limit[maker,rcf,3]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Iterator, Protocol

import numpy as np
import pyomo.environ as pyo

from planning.data import as_array
from scenarios.fields import Problem
from scenarios.finance import SERIES_FIELDS, EndPolicy

if TYPE_CHECKING:  # pragma: no cover
    from finance.formulation import InstrumentModel

Affine = Any  # a number or a linear Pyomo expression
Terms = list[tuple[float, Any]]  # (coefficient, variable)
Row = tuple[tuple, Any]  # (index, relational expression) of a constraint family
Money = dict[str, Terms]  # "principal" (net money in), "interest", "fees" (paid), "income" (discount taken)

LEADING_FAMILIES = ("credit_limit", "draw_window")
TRAILING_FAMILIES = ("end_repayment",)


def is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating))


def number(x: Affine) -> float:
    """The value of a number or of a solved linear expression."""
    if is_number(x):
        return float(x)
    return float(pyo.value(x, exception=False) or 0.0)


def empty_money() -> Money:
    return {"principal": [], "interest": [], "fees": [], "income": []}


@dataclass(frozen=True)
class VarEntry:
    """One index of a variable family, with its bounds."""

    family: str
    index: tuple
    bounds: tuple[float | None, float | None] | None = (0.0, None)


@dataclass(frozen=True)
class ReceivablesPool:
    """Which receivables an instrument may use: younger than ``max_age_days``, not owed by an
    ``excluded`` customer, owed by one of ``only`` (when given); ``concentration_limit`` caps one
    customer's share of what passes (a lender's rule)."""

    max_age_days: float | None = None
    excluded: tuple[str, ...] = ()
    only: tuple[str, ...] | None = None
    concentration_limit: float | None = None


class InstrumentKind(Protocol):
    """The behaviour of one instrument of one partner (``spec`` is its input model): what the
    hosts call on every instrument. :class:`BaseInstrument` adds, with defaults, the hooks through
    which a partner's instruments share collateral (``receivables_taken``, ``prepaid``,
    ``inventory_pledged``, ``needed_pledge``) and what the hosts read from the inputs
    (``receivables_pool``, ``opening_owed``, ``opening_due``, ``report``)."""

    type: ClassVar[str]
    partner: str
    spec: Any
    key: tuple[str, str]

    def variables(self, fm: InstrumentModel) -> Iterable[VarEntry]:
        """Its entries of the block's variable families."""

    def money(self, b: pyo.Block, fm: InstrumentModel, t: int) -> Money:
        """Its cash in period t as linear terms (its partner's)."""

    def other_cash(self, b: pyo.Block, fm: InstrumentModel, t: int) -> Iterable[tuple[str, float, Any]]:
        """Money it moves in another partner's cash in period t: (partner, coefficient, variable)."""

    def constraints(self, b: pyo.Block, fm: InstrumentModel) -> dict[str, list[Row]]:
        """Its rows, by constraint family."""

    def cost_terms(self, b: pyo.Block, fm: InstrumentModel, partner: str | None = None) -> Iterator[tuple[float, Any]]:
        """Financing cost it causes (to ``partner``, or to anyone)."""

    def ending_debt_terms(self, b: pyo.Block, fm: InstrumentModel) -> Iterator[tuple[float, Any]]:
        """What is still owed on it at the end of the horizon."""

    def read(self, b: pyo.Block, fm: InstrumentModel, val: Any, need: dict) -> list[dict[str, Any]]:
        """Its rows of the instrument table (one per period, and any counterparty's)."""

    @classmethod
    def check_table(cls, spec: Any, table: Any, partner: str, path: str, days_per_period: float) -> list[Problem]:
        """Problems of using it on a cash-flow table (collateral or payables missing)."""


REGISTRY: dict[str, type["BaseInstrument"]] = {}


def register(cls: type["BaseInstrument"]) -> type["BaseInstrument"]:
    """Class decorator: the kind for input models whose ``type`` is ``cls.type``."""
    if cls.type in REGISTRY and REGISTRY[cls.type] is not cls:
        raise ValueError(f"instrument type '{cls.type}' registered twice")
    REGISTRY[cls.type] = cls
    return cls


def kind_of(type_name: str) -> type["BaseInstrument"]:
    try:
        return REGISTRY[type_name]
    except KeyError:
        raise KeyError(f"no instrument kind for type '{type_name}' (known: {', '.join(REGISTRY)})") from None


def constraint_families() -> tuple[str, ...]:
    """Every constraint family of the registered kinds, in declaration order: the limits and
    draw windows, then each kind's own families in registration order, the end repayment last."""
    middle: list[str] = []
    for cls in REGISTRY.values():
        for f in cls.families:
            if f not in LEADING_FAMILIES + TRAILING_FAMILIES and f not in middle:
                middle.append(f)
    return LEADING_FAMILIES + tuple(middle) + TRAILING_FAMILIES


def variable_families() -> dict[str, Any]:
    """Every variable family of the registered kinds (name -> domain, None: continuous with the
    entries' bounds), in registration order."""
    out: dict[str, Any] = {}
    for cls in REGISTRY.values():
        for name, domain in cls.variable_domains.items():
            out.setdefault(name, domain)
    return out


def not_debt_types() -> tuple[str, ...]:
    """Row types of the instrument table that are not borrowing (payments brought forward)."""
    out: list[str] = []
    for cls in REGISTRY.values():
        if not cls.is_debt:
            out.append(cls.type)
        out += [t for t in cls.row_labels if t != cls.type and t not in out]
    return tuple(out)


def row_label(row_type: str) -> str:
    """What a row type's "drawn" means, for readers of the funding."""
    for cls in REGISTRY.values():
        if row_type in cls.row_labels:
            return cls.row_labels[row_type][0]
    return "financing"


def drawn_note(row_type: str) -> str:
    """Words after the amount drawn on the terminal (" paid early (not borrowing)"), or ""."""
    for cls in REGISTRY.values():
        if row_type in cls.row_labels:
            return cls.row_labels[row_type][1]
    return ""


class BaseInstrument:
    """Common base: identity, per-period arrays of the series fields, the draw window, no
    variables, money, rows or debt unless the kind adds them."""

    type: ClassVar[str] = ""
    variable_domains: ClassVar[dict[str, Any]] = {}  # variable families it has entries in
    families: ClassVar[tuple[str, ...]] = ()  # constraint families it adds rows to
    is_debt: ClassVar[bool] = True
    row_labels: ClassVar[dict[str, tuple[str, str]]] = {}  # row type -> (label, drawn note)
    uses_collection_rate: ClassVar[bool] = False  # needs the share of the receivables book collected

    def __init__(self, partner: str, spec: Any, T: int, days_per_period: float):
        self.partner = partner
        self.spec = spec
        self.key = (partner, spec.id)
        self.T = T
        self.days_per_period = days_per_period
        self.arrays: dict[str, np.ndarray] = {}
        for name in SERIES_FIELDS:
            value = getattr(spec, name, None)
            if value is not None:
                self.arrays[name] = as_array(value, T)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def kind(self) -> str:
        return self.spec.type

    # -- window ------------------------------------------------------------------------------

    def window(self) -> tuple[int, int]:
        last = self.T - 1 if self.spec.draw_until is None else min(self.spec.draw_until, self.T - 1)
        return self.spec.draw_from, last

    def in_window(self, t: int) -> bool:
        first, last = self.window()
        return first <= t <= last

    @property
    def repay_at_end(self) -> bool:
        return self.spec.at_end == EndPolicy.repay

    # -- what other instruments of the model see -------------------------------------------------

    @property
    def pledges_inventory(self) -> bool:
        """It takes a pledge of its partner's inventory (shared with the partner's other lines)."""
        return False

    def pays_early_to(self, fm: InstrumentModel) -> str | None:
        """The partner of the model whose invoices it pays early, or None."""
        return None

    def receivables_taken(self, b: pyo.Block, t: int) -> list:
        """Face value of its partner's receivables it holds at the end of t (sold, no longer
        collateral)."""
        return []

    def inventory_pledged(self, b: pyo.Block, t: int) -> Any:
        """Its pledge of its partner's inventory at the end of t, or None."""
        return None

    def prepaid(self, b: pyo.Block, fm: InstrumentModel, supplier: str, u: int,
                customers: Iterable[str] | None = None) -> list:
        """Invoices of ``supplier`` (a partner of the model) it has paid early by the end of u
        but that fall due later."""
        return []

    def needed_pledge(self, b: pyo.Block, fm: InstrumentModel, val: Any, t: int) -> float | None:
        """The least inventory it needs pledged for its solved balance at the end of t, or None."""
        return None

    # -- inputs -------------------------------------------------------------------------------------

    @classmethod
    def receivables_pool(cls, spec: Any) -> ReceivablesPool | None:
        """The receivables it leans on, or None."""
        return None

    @classmethod
    def opening_owed(cls, spec: Any) -> float:
        """Money owed on it before the horizon (bounds a loan in a MIP)."""
        return abs(float(spec.opening_balance)) + sum(getattr(spec, "opening_repayments", []))

    @classmethod
    def check_table(cls, spec: Any, table: Any, partner: str, path: str, days_per_period: float = 365.0 / 12) -> list[Problem]:
        problems = []
        needs = spec.collateral()
        if "receivables" in needs and table.receivables is None and "receivables" not in table.flows:
            problems.append(Problem(path, f"a {spec.type} needs receivables in the cash-flow table (a 'receivables' column or a receivables file)"))
        if "inventory" in needs and "inventory" not in table.flows:
            problems.append(Problem(path, f"a {spec.type} needs inventory at cost in the cash-flow table (an 'inventory' column)"))
        return problems

    # -- model ------------------------------------------------------------------------------------

    def variables(self, fm: InstrumentModel) -> Iterable[VarEntry]:
        return ()

    def money(self, b: pyo.Block, fm: InstrumentModel, t: int) -> Money:
        return empty_money()

    def other_cash(self, b: pyo.Block, fm: InstrumentModel, t: int) -> Iterable[tuple[str, float, Any]]:
        return ()

    def constraints(self, b: pyo.Block, fm: InstrumentModel) -> dict[str, list[Row]]:
        return {}

    def accrued_terms(self, b: pyo.Block, fm: InstrumentModel) -> Terms:
        """Interest accrued by the end of the horizon on money still owed, not yet paid."""
        return []

    def cost_terms(self, b: pyo.Block, fm: InstrumentModel, partner: str | None = None) -> Iterator[tuple[float, Any]]:
        """Interest and fees, less discounts taken, in every period, and interest accrued at the end."""
        if partner is not None and self.partner != partner:
            return
        for t in range(self.T):
            mo = self.money(b, fm, t)
            yield from mo["interest"]
            yield from mo["fees"]
            for c, v in mo["income"]:
                yield -c, v
        yield from self.accrued_terms(b, fm)

    def ending_debt_terms(self, b: pyo.Block, fm: InstrumentModel) -> Iterator[tuple[float, Any]]:
        return iter(())

    def report(self) -> dict[str, Any]:
        """Figures of its terms for the instrument mix (e.g. the cost of forgoing a discount)."""
        return {}

    def opening_due(self) -> list[dict[str, Any]]:
        """Money owed from before the horizon that it must repay within the horizon: rows
        ``period``, ``amount`` and ``when`` (words for a message)."""
        return []

    # -- read-back ----------------------------------------------------------------------------------

    def base_row(self, b: pyo.Block, fm: InstrumentModel, val: Any, t: int) -> dict[str, Any]:
        """The columns every instrument has, from its money in t."""
        mo = self.money(b, fm, t)
        ev = lambda terms: float(sum(c * val(v) for c, v in terms))  # noqa: E731
        principal = ev(mo["principal"])
        return {
            "partner": self.partner,
            "instrument": self.id,
            "type": self.kind,
            "period": t,
            "opening_balance": 0.0,
            "inflow": max(0.0, principal),
            "outflow": max(0.0, -principal),
            "closing_balance": 0.0,
            "interest": ev(mo["interest"]),
            "fees": ev(mo["fees"]),
            "discount_taken": ev(mo["income"]),
            "limit": float(self.arrays["limit"][t]) if "limit" in self.arrays else np.nan,
            "availability": np.nan,
            "headroom": np.nan,
            "collateral": np.nan,
            "coverage": np.nan,
        }

    def fill_row(self, row: dict[str, Any], b: pyo.Block, fm: InstrumentModel, val: Any, t: int, need: dict) -> None:
        """Its own columns of the row of period t."""

    def read(self, b: pyo.Block, fm: InstrumentModel, val: Any, need: dict) -> list[dict[str, Any]]:
        rows = []
        for t in range(self.T):
            row = self.base_row(b, fm, val, t)
            self.fill_row(row, b, fm, val, t, need)
            if self.is_debt:
                if not np.isnan(row["availability"]):
                    row["headroom"] = row["availability"] - row["closing_balance"]
                if not np.isnan(row["collateral"]) and row["closing_balance"] > 1e-9:
                    row["coverage"] = row["collateral"] / row["closing_balance"]
            rows.append(row)
            rows += self.counterparty_rows(b, fm, val, t)
        return rows

    def counterparty_rows(self, b: pyo.Block, fm: InstrumentModel, val: Any, t: int) -> list[dict[str, Any]]:
        """Rows of another partner of the model it moves money for, in period t."""
        return []
