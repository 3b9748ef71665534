"""Financing instruments of each partner, and the finance specification that lists them.

These are inputs, so they live with the scenario (whose optional ``finance`` section embeds them):
the models, their checks and their reading. :mod:`finance` sizes and plans funding with them.

A :class:`FinanceSpec` says, per partner, which instruments it may use to fund a plan, its
opening cash, minimum cash and deposit rate. It is usually a small YAML file a finance team keeps
beside its cash forecast (see ``load_finance_spec``).

Conventions (as in the scenario schema)
---------------------------------------
- Periods are integers ``0 .. T-1`` of the cash-flow table the spec is applied to.
- Money is in the spec's currency; every rate is a fraction *per period* (0.01 = 1 % a period),
  unless its description says otherwise (e.g. ``tenor_rate`` is over the whole tenor).
- A :data:`Series` is one number (constant over the horizon) or a list of exactly ``T`` numbers.
- Balances are measured at the end of a period. Interest and fees of period ``t`` are paid in
  cash in ``t`` on the balance at the start of ``t`` (the end of ``t-1``); money drawn in ``t``
  starts to cost interest in ``t+1``.

Value checks (negative rates, advance rates over 100 %, unknown customers, ...) are ``check_*``
functions returning :class:`~scenarios.fields.Problem` lists that name the field, so every
problem of a file is reported at once; :func:`parse_finance_spec` raises :class:`FinanceError`.
"""

from __future__ import annotations

import math
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Iterable, Literal, Union, get_args

import yaml
from pydantic import Field, ValidationError

from .fields import Identifier, Problem, Series, StrictModel, _field, periods_per_year, problems_from_validation_error

FINANCE_SCHEMA_VERSION = "1.0"


class FinanceError(ValueError):
    """A finance specification or cash-flow table that cannot be used; carries every problem."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"] or problems
        super().__init__(f"{len(errors)} error(s) in finance input:\n" + "\n".join(f"  {p}" for p in errors))


class EndPolicy(str, Enum):
    repay = "repay"
    carry = "carry"


class FundingObjective(str, Enum):
    min_cost = "min_cost"
    max_ending_cash = "max_ending_cash"


# ---------------------------------------------------------------------------------------------
# Instruments
# ---------------------------------------------------------------------------------------------


class _Instrument(StrictModel):
    id: Identifier = _field(description="Instrument identifier, unique within the partner")
    draw_from: int = _field(
        0, ge=0, unit="period", description="First period in which the instrument may be drawn or issued"
    )
    draw_until: int | None = _field(
        None,
        ge=0,
        unit="period",
        description="Last period (inclusive) in which it may be drawn or issued; omitted means the horizon's end",
    )
    opening_balance: float = _field(
        0.0,
        unit="currency",
        description="Amount owed (or advanced, for factoring) at the start of period 0",
    )
    at_end: EndPolicy = _field(
        EndPolicy.repay,
        description="repay: nothing may be outstanding at the end of the horizon; carry: it may, and is reported",
    )

    # What the instrument leans on (checked against a scenario's trade and a cash-flow table):
    # a subset of {"receivables", "receivables_by_customer", "inventory", "payables"}.
    def collateral(self) -> frozenset[str]:
        return frozenset()

    pays_suppliers_early: ClassVar[bool] = False
    """Brings a buyer's payments to ``supplier`` forward (one such instrument per supplier)."""

    def check(self, path: str) -> list[Problem]:
        """The instrument's own values: rates, fees and amounts not negative, the draw window
        ordered; each kind adds its own (:meth:`check_kind`)."""
        problems: list[Problem] = []
        for name in RATE_FIELDS:
            if name in type(self).model_fields:
                problems += _nonneg(getattr(self, name), f"{path}.{name}", name.replace("_", " "))
        for name in ("limit", "reserves", "inventory_reserve"):
            if getattr(self, name, None) is not None:
                problems += _nonneg(getattr(self, name), f"{path}.{name}", name.replace("_", " "))
        problems += _nonneg(self.opening_balance, f"{path}.opening_balance", "opening balance")
        if self.draw_until is not None and self.draw_until < self.draw_from:
            problems.append(
                Problem(f"{path}.draw_until", f"last draw period {self.draw_until} is before draw_from {self.draw_from}")
            )
        return problems + self.check_kind(path)

    def check_kind(self, path: str) -> list[Problem]:
        return []


class RevolvingCredit(_Instrument):
    """A committed revolving credit line: draw and repay freely up to the limit."""

    type: Literal["revolver"] = _field(description="Instrument kind")
    limit: Series = _field(unit="currency", description="Committed amount, the most that may be drawn")
    rate: Series = _field(unit="1/period", description="Interest per period on the drawn balance")
    commitment_fee: Series = _field(
        0.0, unit="1/period", description="Fee per period on the undrawn part of the limit"
    )


class _InventoryCollateral(_Instrument):
    """Lends against inventory at cost: the lender counts ``1 - ineligible_inventory_share`` of
    the stock pledged to it, and deducts ``inventory_reserve`` from the borrowing base."""

    ineligible_inventory_share: Series = _field(
        0.0,
        unit="fraction",
        description=(
            "Share of the inventory at cost the lender does not count (obsolete, consigned, in transit), "
            "0..1, one number or one per period"
        ),
    )
    inventory_reserve: Series = _field(
        0.0,
        unit="currency",
        description=(
            "Reserve against the inventory (shrink, slow-moving stock), deducted from the borrowing base; "
            "it comes off the whole base (receivables and inventory), which is floored at 0"
        ),
    )

    def check_kind(self, path: str) -> list[Problem]:
        problems = []
        for i, v in enumerate(_items(self.ineligible_inventory_share)):
            where = f"{path}.ineligible_inventory_share" + (f"[{i}]" if isinstance(self.ineligible_inventory_share, list) else "")
            problems += _fraction(v, where, "ineligible inventory share")
        return problems


class AssetBasedLine(_InventoryCollateral):
    """An asset-based line: a revolver whose availability is a borrowing base.

    availability[t] = receivables_advance_rate x eligible receivables[t]
    + inventory_advance_rate x (1 - ineligible_inventory_share[t]) x inventory pledged to the
    line[t] (at cost) - reserves[t] - inventory_reserve[t], at least 0, capped by ``limit``.
    Receivables older than ``max_age_days``, owed by an excluded customer, or owed by one customer
    above ``concentration_limit`` x the receivables that pass the other tests, are ineligible;
    receivables sold to a factor are not collateral.
    """

    type: Literal["asset_based"] = _field(description="Instrument kind")
    limit: Series | None = _field(
        None, unit="currency", description="Maximum facility size; omitted means the borrowing base alone"
    )
    rate: Series = _field(unit="1/period", description="Interest per period on the drawn balance")
    commitment_fee: Series = _field(
        0.0, unit="1/period", description="Fee per period on the undrawn part of the limit (needs a limit)"
    )
    receivables_advance_rate: float = _field(
        0.0, unit="fraction", description="Share of eligible receivables lent against (e.g. 0.85)"
    )
    inventory_advance_rate: float = _field(
        0.0, unit="fraction", description="Share of eligible inventory at cost lent against (e.g. 0.5)"
    )
    reserves: Series = _field(
        0.0, unit="currency", description="Amount the lender deducts from the borrowing base (rent, taxes, dilution)"
    )
    max_age_days: float | None = _field(
        90.0,
        unit="days",
        description="Receivables older than this (days since invoice) are ineligible; 90 when omitted, null for no age test",
    )
    concentration_limit: float | None = _field(
        None,
        unit="fraction",
        description=(
            "Most one customer may make up of the receivables that pass the age and customer tests; "
            "the part above it is ineligible. Omitted means no limit"
        ),
    )
    excluded_customers: list[str] = _field(
        default_factory=list, description="Customers whose receivables are ineligible (e.g. affiliates)"
    )

    def collateral(self) -> frozenset[str]:
        return frozenset({"receivables"} if self.receivables_advance_rate > 0 else set()) | (
            {"inventory"} if self.inventory_advance_rate > 0 else set()
        )

    def check_kind(self, path: str) -> list[Problem]:
        problems = super().check_kind(path)
        problems += _fraction(self.receivables_advance_rate, f"{path}.receivables_advance_rate", "receivables advance rate")
        problems += _fraction(self.inventory_advance_rate, f"{path}.inventory_advance_rate", "inventory advance rate")
        problems += _fraction(self.concentration_limit, f"{path}.concentration_limit", "concentration limit", allow_zero=False)
        if self.max_age_days is not None and self.max_age_days <= 0:
            problems.append(Problem(f"{path}.max_age_days", f"must be positive (got {self.max_age_days})"))
        if self.receivables_advance_rate == 0 and self.inventory_advance_rate == 0:
            problems.append(
                Problem(path, "an asset-based line needs receivables_advance_rate or inventory_advance_rate above 0")
            )
        if self.limit is None and any(v > 0 for v in _items(self.commitment_fee)):
            problems.append(Problem(f"{path}.commitment_fee", "a commitment fee needs a limit to apply to"))
        return problems


class InventoryLoan(_InventoryCollateral):
    """A loan against pledged stock (warehouse receipt):
    balance <= loan_to_value x (1 - ineligible_inventory_share) x pledged inventory - inventory_reserve."""

    type: Literal["inventory_loan"] = _field(description="Instrument kind")
    loan_to_value: float = _field(unit="fraction", description="Share of the pledged inventory's value lent")
    rate: Series = _field(unit="1/period", description="Interest per period on the balance")
    limit: Series | None = _field(None, unit="currency", description="Maximum loan; omitted means none")

    def collateral(self) -> frozenset[str]:
        return frozenset({"inventory"})

    def check_kind(self, path: str) -> list[Problem]:
        return super().check_kind(path) + _fraction(
            self.loan_to_value, f"{path}.loan_to_value", "loan-to-value", allow_zero=False
        )


class Factoring(_Instrument):
    """Selling receivables to a factor: cash now at ``advance_rate`` of face value.

    The factor charges ``discount_rate`` per period on the money it has advanced while the sold
    receivables are outstanding, and ``fee`` once on the face value sold; when a customer pays, the
    advance is settled and the rest of the face value (the reserve) is returned to the seller.
    """

    type: Literal["factoring"] = _field(description="Instrument kind")
    advance_rate: float = _field(unit="fraction", description="Share of face value paid at once (e.g. 0.8)")
    discount_rate: Series = _field(unit="1/period", description="Discount per period on the amount advanced")
    fee: float = _field(0.0, unit="fraction", description="Service fee, once, on the face value sold")
    recourse: bool = _field(
        False,
        description="With recourse the seller keeps the credit risk and the receivables stay on its books",
    )
    customers: list[str] | None = _field(
        None, description="Customers whose receivables the factor buys; omitted means every customer"
    )
    max_age_days: float | None = _field(
        None, unit="days", description="The factor buys no receivable older than this; omitted means no limit"
    )
    limit: Series | None = _field(
        None, unit="currency", description="Most the factor advances at any time; omitted means none"
    )
    at_end: EndPolicy = _field(
        EndPolicy.carry,
        description="repay: no sold receivable outstanding at the end; carry (default): reported",
    )

    def collateral(self) -> frozenset[str]:
        return frozenset({"receivables"})

    def check_kind(self, path: str) -> list[Problem]:
        problems = _fraction(self.advance_rate, f"{path}.advance_rate", "advance rate", allow_zero=False)
        problems += _fraction(self.fee, f"{path}.fee", "fee")
        if self.max_age_days is not None and self.max_age_days <= 0:
            problems.append(Problem(f"{path}.max_age_days", f"must be positive (got {self.max_age_days})"))
        return problems


class ReverseFactoring(_Instrument):
    """A buyer's supply-chain-finance programme: its supplier sells the buyer's approved invoices.

    The supplier is paid early at the buyer's ``rate`` (tied to the buyer's credit, not the
    supplier's); the buyer still pays at its own term, to the programme, so its cash is unchanged.
    """

    type: Literal["reverse_factoring"] = _field(description="Instrument kind")
    buyer: Identifier = _field(description="The buyer running the programme: a customer of this partner")
    rate: Series = _field(unit="1/period", description="Discount per period on the amount paid early")
    advance_rate: float = _field(1.0, unit="fraction", description="Share of approved invoices paid early")
    fee: float = _field(0.0, unit="fraction", description="Programme fee, once, on the face value paid early")
    limit: Series | None = _field(
        None, unit="currency", description="Programme limit for this supplier; omitted means none"
    )
    at_end: EndPolicy = _field(
        EndPolicy.carry,
        description="repay: no invoice paid early still outstanding at the end; carry (default): reported",
    )

    def collateral(self) -> frozenset[str]:
        return frozenset({"receivables", "receivables_by_customer"})

    def check_kind(self, path: str) -> list[Problem]:
        return _fraction(self.advance_rate, f"{path}.advance_rate", "advance rate", allow_zero=False) + _fraction(
            self.fee, f"{path}.fee", "fee"
        )


class FixedTenorLoan(_Instrument):
    """Fixed-tenor borrowing (commercial paper, 15-90 day platform loans).

    An amount borrowed in period t is repaid with its interest in period t + tenor (a bullet). The
    interest is ``rate`` x tenor (simple) or ``tenor_rate`` when given.
    """

    type: Literal["fixed_tenor"] = _field(description="Instrument kind")
    tenor: int = _field(ge=1, unit="periods", description="Periods from borrowing to repayment")
    rate: Series = _field(
        0.0, unit="1/period", description="Interest per period, simple; set by the period of borrowing"
    )
    tenor_rate: float | None = _field(
        None,
        unit="fraction",
        description="Interest over the whole tenor (e.g. 0.02 for 2 % for 3 months); replaces rate",
    )
    fee: float = _field(0.0, unit="fraction", description="Arrangement fee, once, on the amount borrowed")
    min_amount: float = _field(
        0.0, unit="currency", description="Smallest loan if one is taken in a period (makes a MIP when > 0)"
    )
    max_amount: float | None = _field(
        None, unit="currency", description="Largest loan in one period; omitted means none"
    )
    limit: Series | None = _field(
        None, unit="currency", description="Most principal outstanding at any time; omitted means none"
    )
    opening_repayments: list[float] = _field(
        default_factory=list,
        unit="currency",
        description="Cash repaid (principal and interest) in periods 0, 1, ... on loans taken before the horizon",
    )

    def check_kind(self, path: str) -> list[Problem]:
        problems: list[Problem] = []
        if self.tenor_rate is not None:
            problems += _nonneg(self.tenor_rate, f"{path}.tenor_rate", "tenor rate")
            if any(v != 0 for v in _items(self.rate)):
                problems.append(Problem(f"{path}.tenor_rate", "give rate or tenor_rate, not both"))
        problems += _fraction(self.fee, f"{path}.fee", "fee")
        problems += _nonneg(self.min_amount, f"{path}.min_amount", "minimum amount")
        if self.max_amount is not None:
            problems += _nonneg(self.max_amount, f"{path}.max_amount", "maximum amount")
            if self.max_amount < self.min_amount:
                problems.append(
                    Problem(f"{path}.max_amount", f"{self.max_amount} is below min_amount {self.min_amount}")
                )
        problems += _nonneg(self.opening_repayments, f"{path}.opening_repayments", "opening repayment")
        if self.opening_balance:
            problems.append(
                Problem(f"{path}.opening_balance", "give loans taken before the horizon as opening_repayments")
            )
        return problems


class EarlyPaymentDiscount(_Instrument):
    """Trade-credit terms such as 2/10 net 30, as an option to pay suppliers early.

    Payments due at the net term may be made ``shift_periods`` earlier at (1 - discount) of the
    invoice. Forgoing the discount is borrowing from the supplier at a high implied rate.
    """

    type: Literal["early_payment_discount"] = _field(description="Instrument kind")
    discount: float = _field(unit="fraction", description="Discount for paying early (0.02 in 2/10 net 30)")
    discount_days: float = _field(unit="days", description="Days within which the discount applies (10)")
    net_days: float = _field(unit="days", description="Days until the full invoice is due (30)")
    supplier: str | None = _field(
        None, description="Supplier offering the terms; omitted means every payable in the table"
    )
    shift_periods: int | None = _field(
        None,
        ge=1,
        unit="periods",
        description=(
            "How many periods earlier an early payment leaves; omitted means "
            "(net_days - discount_days) / days per period, rounded, at least 1"
        ),
    )
    at_end: EndPolicy = _field(EndPolicy.carry, description="Not used: nothing is outstanding")

    pays_suppliers_early: ClassVar[bool] = True

    def collateral(self) -> frozenset[str]:
        return frozenset({"payables"})

    def check_kind(self, path: str) -> list[Problem]:
        problems = _fraction(self.discount, f"{path}.discount", "discount", allow_zero=False)
        if self.discount == 1:
            problems.append(Problem(f"{path}.discount", "a 100 % discount is not a payment term"))
        if self.discount_days < 0:
            problems.append(Problem(f"{path}.discount_days", f"must not be negative (got {self.discount_days})"))
        if self.net_days <= self.discount_days:
            problems.append(
                Problem(f"{path}.net_days", f"net term {self.net_days:g} days must be after the discount period "
                        f"{self.discount_days:g} days")
            )
        return problems


DAY_COUNT_BASIS = {"actual/360": 360.0, "actual/365": 365.0}
"""Days in the year an annual rate is spread over, by day-count convention."""


class DynamicDiscount(_Instrument):
    """Dynamic discounting: the supplier offers a discount for paying before the due date, quoted
    as an annual rate (APR) on the days paid early; the buyer chooses how much of each payable to
    pay, and how many periods early (1 .. ``max_periods_early``).

    discount = amount x apr x days_early / basis, with days_early = periods early x days per period
    and basis 360 (actual/360) or 365 (actual/365): 10,000 paid 7 days early at 18 % APR,
    actual/360, is discounted by 35.00.

    ``limit`` is the buyer's liquidity limit, on the money outstanding: at the end of each period,
    the cash paid early on invoices not yet due (paid in or before the period, due after it) is at
    most ``limit``.
    """

    type: Literal["dynamic_discount"] = _field(description="Instrument kind")
    apr: float = _field(
        unit="1/year", description="Discount offered, as an annual rate on the days paid early (0.18 = 18 % APR)"
    )
    day_count: Literal["actual/360", "actual/365"] = _field(
        "actual/360", description="Day-count convention of the APR: the days paid early over 360 or 365"
    )
    max_days_early: float = _field(
        unit="days", description="Most days before the due date the supplier accepts payment (e.g. 60 on net 60)"
    )
    max_periods_early: int | None = _field(
        None,
        ge=1,
        unit="periods",
        description=(
            "Most periods before the due date a payment may leave; omitted means max_days_early / days "
            "per period, rounded down (0: no period is short enough, the instrument is not used)"
        ),
    )
    supplier: str | None = _field(
        None, description="Supplier making the offer; omitted means every payable in the table"
    )
    limit: Series | None = _field(
        None,
        unit="currency",
        description=(
            "Liquidity limit: most cash paid early and outstanding (on invoices not yet due) at the end of "
            "each period; omitted means none"
        ),
    )
    at_end: EndPolicy = _field(EndPolicy.carry, description="Not used: nothing is outstanding at the end")

    pays_suppliers_early: ClassVar[bool] = True

    @property
    def basis_days(self) -> float:
        return DAY_COUNT_BASIS[self.day_count]

    def collateral(self) -> frozenset[str]:
        return frozenset({"payables"})

    def check_kind(self, path: str) -> list[Problem]:
        problems = _nonneg(self.apr, f"{path}.apr", "APR")
        if self.apr == 0:
            problems.append(Problem(f"{path}.apr", "an APR of 0 offers no discount"))
        if self.max_days_early <= 0:
            problems.append(Problem(f"{path}.max_days_early", f"must be positive (got {self.max_days_early:g})"))
        elif self.apr * self.max_days_early / self.basis_days >= 1:
            problems.append(
                Problem(f"{path}.apr", f"{self.apr:g} a year over {self.max_days_early:g} days is a discount of "
                        "100 % or more")
            )
        return problems


Instrument = Annotated[
    Union[
        RevolvingCredit,
        AssetBasedLine,
        InventoryLoan,
        Factoring,
        ReverseFactoring,
        FixedTenorLoan,
        EarlyPaymentDiscount,
        DynamicDiscount,
    ],
    Field(discriminator="type"),
]
INSTRUMENT_MODELS: tuple[type[_Instrument], ...] = get_args(get_args(Instrument)[0])
"""The instrument input models, in the union's order."""


# ---------------------------------------------------------------------------------------------
# Who may use what: the scenario's finance section, and the finance specification that extends it
# ---------------------------------------------------------------------------------------------
#
# One model: a scenario's ``finance`` section is a partner list with deposit rates and
# instruments; a finance specification (a file beside a cash-flow table or a plan) is the same
# section plus what a scenario would otherwise say (opening and minimum cash, customers, currency,
# periods a year). The spec's own checks are :func:`check_finance`, for both.


class ScenarioPartnerFinance(StrictModel):
    """One partner's funding options inside a scenario: its opening cash, minimum cash and customers
    are the scenario's."""

    partner: Identifier = _field(description="Partner id, as in the scenario's partners")
    deposit_rate: Series = _field(
        0.0, unit="1/period", description="Interest earned per period on cash held (paid on the opening balance)"
    )
    instruments: list[Instrument] = _field(default_factory=list, description="Instruments it may use")


class PartnerFinance(ScenarioPartnerFinance):
    """One partner's funding options and cash rules."""

    opening_cash: float | None = _field(
        None,
        unit="currency",
        description="Cash at the start of period 0; omitted means the cash-flow table's (or 0)",
    )
    min_cash: Series | None = _field(
        None,
        unit="currency",
        description="Minimum cash at the end of each period; omitted means the table's (or 0)",
    )
    customers: list[str] | None = _field(
        None, description="The partner's customers, when known (checks reverse-factoring buyers)"
    )


class ScenarioFinance(StrictModel):
    """Funding instruments of a scenario's partners. Planning without finance ignores this section;
    ``jointplan fund`` sizes a plan's funding with it, ``jointplan plan --finance`` plans operations
    and funding together, ``jointplan compare-finance`` reports joint against sequential planning."""

    objective: FundingObjective = _field(
        FundingObjective.min_cost,
        description=(
            "When sizing a plan's funding: min_cost (least financing cost) or max_ending_cash "
            "(most cash at the end, net of balances still outstanding)"
        ),
    )
    partners: list[ScenarioPartnerFinance] = _field(default_factory=list, description="Per-partner funding")

    def partner(self, partner_id: str) -> ScenarioPartnerFinance | None:
        return next((p for p in self.partners if p.partner == partner_id), None)


class FinanceSpec(ScenarioFinance):
    """What each partner may use to fund a plan (the min_cost objective counts interest and fees,
    less deposit interest and discounts taken)."""

    partners: list[PartnerFinance] = _field(default_factory=list, description="Per-partner funding")
    schema_version: str = _field(FINANCE_SCHEMA_VERSION, description="Version of this schema")
    name: str = _field("funding", description="Name of this funding setup")
    currency: str = _field("EUR", description="Currency of every money amount")
    periods_per_year: int | None = _field(
        None,
        ge=1,
        le=366,
        unit="periods/year",
        description="Periods in a year (12 monthly, 52 weekly); omitted means the cash-flow table's, or 12",
    )


def finance_json_schema() -> dict[str, Any]:
    schema = FinanceSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "jointplan finance specification"
    return schema


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def _items(value: Any) -> list[float]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _nonneg(value: Any, path: str, what: str) -> list[Problem]:
    for i, v in enumerate(_items(value)):
        if v is None or not math.isfinite(v):
            where = path if not isinstance(value, list) else f"{path}[{i}]"
            return [Problem(where, f"{what} must be a finite number (got {v})")]
        if v < 0:
            where = path if not isinstance(value, list) else f"{path}[{i}]"
            return [Problem(where, f"{what} must not be negative (got {v})")]
    return []


def _fraction(value: float | None, path: str, what: str, *, allow_zero: bool = True) -> list[Problem]:
    if value is None:
        return []
    if not math.isfinite(value) or value < 0 or (not allow_zero and value == 0):
        return [Problem(path, f"{what} must be {'above' if not allow_zero else 'at least'} 0 (got {value})")]
    if value > 1:
        return [Problem(path, f"{what} is over 100 % (got {value:g}; give a fraction such as 0.85)")]
    return []


RATE_FIELDS = ("rate", "commitment_fee", "discount_rate")


def check_instrument(inst: Any, path: str) -> list[Problem]:
    """Rates, fees and amounts are not negative; advance rates, loan-to-value and shares are at
    most 100 %; the draw window is ordered; each kind's own rules (the model's ``check``)."""
    return inst.check(path)


def check_finance(
    fin: ScenarioFinance, base: str = "partners", *, customers: dict[str, Iterable[str]] | None = None
) -> list[Problem]:
    """Every check of a finance section or specification that needs only itself: partners listed
    once; deposit rate and minimum cash not negative; instrument ids unique within a partner, each
    instrument's values sensible (:func:`check_instrument`); one early-payment discount per
    supplier; reverse-factoring buyers among the partner's customers, when known (``customers``
    by partner, else the spec's own ``customers``). Paths start with ``base``."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, pf in enumerate(fin.partners):
        where = f"{base}[{i}]"
        if pf.partner in seen:
            problems.append(Problem(f"{where}.partner", f"partner '{pf.partner}' listed twice"))
        seen.add(pf.partner)
        problems += _nonneg(pf.deposit_rate, f"{where}.deposit_rate", "deposit rate")
        min_cash = getattr(pf, "min_cash", None)
        if min_cash is not None:
            problems += _nonneg(min_cash, f"{where}.min_cash", "minimum cash (model an overdraft as a revolver)")
        ids: set[str] = set()
        for j, inst in enumerate(pf.instruments):
            path = f"{where}.instruments[{j}]"
            if inst.id in ids:
                problems.append(Problem(f"{path}.id", f"instrument id '{inst.id}' used twice for '{pf.partner}'"))
            ids.add(inst.id)
            problems += check_instrument(inst, path)
        known = customers.get(pf.partner) if customers is not None else getattr(pf, "customers", None)
        problems += check_reverse_factoring_buyers(pf, where, known)
        suppliers = [inst.supplier for inst in pf.instruments if inst.pays_suppliers_early]
        if len(suppliers) != len(set(suppliers)):
            problems.append(Problem(f"{where}.instruments", "two early-payment discounts for the same supplier"))
    return problems


def check_reverse_factoring_buyers(
    pf: ScenarioPartnerFinance, base: str, customers: Iterable[str] | None
) -> list[Problem]:
    """A reverse-factoring buyer is not the supplier itself, and is a customer of the supplier when
    the customers are known."""
    known = None if customers is None else set(customers)
    problems = []
    for j, inst in enumerate(pf.instruments):
        if getattr(inst, "buyer", None) is not None:  # a buyer's programme (reverse factoring)
            if inst.buyer == pf.partner:
                problems.append(Problem(f"{base}.instruments[{j}].buyer", "a partner cannot reverse-factor its own invoices"))
            elif known is not None and inst.buyer not in known:
                listed = ", ".join(sorted(known)) or "none"
                problems.append(
                    Problem(
                        f"{base}.instruments[{j}].buyer",
                        f"'{inst.buyer}' is not a customer of '{pf.partner}' (its customers: {listed})",
                    )
                )
    return problems


def check_partners_known(fin: ScenarioFinance, base: str, known: Iterable[str], where: str) -> list[Problem]:
    """Each partner of the spec is one of ``known`` (the partners of ``where``: the scenario, the
    cash-flow table)."""
    known = list(known)
    listed = ", ".join(sorted(known))
    return [
        Problem(f"{base}[{i}].partner", f"unknown partner '{pf.partner}' is not in {where} (partners: {listed})")
        for i, pf in enumerate(fin.partners)
        if pf.partner not in known
    ]


SERIES_FIELDS = ("rate", "commitment_fee", "discount_rate", "limit", "reserves", "ineligible_inventory_share",
                 "inventory_reserve")


def check_periods(fin: ScenarioFinance, base: str, T: int, of: str, *, skip: Iterable[str] = ()) -> list[Problem]:
    """The spec fits a horizon of ``T`` periods (``of``: "the horizon", "the cash-flow table"):
    series have T values, instruments can be drawn within it, opening repayments fall inside it.
    Partners in ``skip`` (unknown ones, already reported) are left out."""
    problems: list[Problem] = []
    skip = set(skip)

    def length(value: Any, path: str) -> None:
        if isinstance(value, list) and len(value) != T:
            problems.append(Problem(path, f"has {len(value)} values but {of} has {T} periods"))

    for i, pf in enumerate(fin.partners):
        if pf.partner in skip:
            continue
        where = f"{base}[{i}]"
        length(getattr(pf, "min_cash", None), f"{where}.min_cash")
        length(pf.deposit_rate, f"{where}.deposit_rate")
        for j, inst in enumerate(pf.instruments):
            path = f"{where}.instruments[{j}]"
            for name in SERIES_FIELDS:
                length(getattr(inst, name, None), f"{path}.{name}")
            if inst.draw_from > T - 1:
                problems.append(Problem(f"{path}.draw_from", f"period {inst.draw_from} is after the horizon's end {T - 1}: never available", "warning"))
            if len(getattr(inst, "opening_repayments", ())) > T:
                problems.append(Problem(f"{path}.opening_repayments", "repayments after the horizon are reported as debt at the end", "warning"))
    return problems


# ---------------------------------------------------------------------------------------------
# A scenario's finance section
# ---------------------------------------------------------------------------------------------

EXTERNAL_PARTY = "(outside the chain)"  # the counterparty label of consumers and outside suppliers
OPENING_PARTY = "(opening balance)"  # receivables from before the horizon


def scenario_trade(s: Any) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Customers and suppliers of each partner of a scenario (duck-typed: any object with the
    scenario's ``partners``, ``sites``, ``lanes`` and ``transfer_prices``).

    A partner is a customer of another when a lane carries the seller's goods to one of its sites
    at a transfer price, or when a transporter runs a lane for it and charges freight; consumers
    and outside suppliers (materials, subcontracting, transport costs) are ``EXTERNAL_PARTY``."""
    site_partner = {x.id: x.partner for x in s.sites}
    priced = {(tp.seller, tp.buyer) for tp in s.transfer_prices}
    customers: dict[str, set[str]] = {a.id: set() for a in s.partners}
    suppliers: dict[str, set[str]] = {a.id: set() for a in s.partners}
    for ln in s.lanes:
        o, r = site_partner.get(ln.origin), site_partner.get(ln.destination)
        if o is None or r is None:
            continue
        if o != r and (o, r) in priced and o in customers and r in suppliers:
            customers[o].add(r)
            suppliers[r].add(o)
        k = ln.transporter
        if k is not None and k != o and k in customers and o in suppliers:
            customers[k].add(o)
            suppliers[o].add(k)
    for x in s.sites:
        if x.production is not None and x.partner in suppliers:
            suppliers[x.partner].add(EXTERNAL_PARTY)
    for ln in s.lanes:
        k = ln.transporter if ln.transporter is not None else site_partner.get(ln.origin)
        if k in suppliers:
            suppliers[k].add(EXTERNAL_PARTY)
    demand_sites = {d.site for d in getattr(s, "demand", [])}
    for site in demand_sites:
        a = site_partner.get(site)
        if a in customers:
            customers[a].add(EXTERNAL_PARTY)
    return customers, suppliers


def check_scenario_finance(s: Any) -> list[Problem]:
    """The scenario's ``finance`` section: its own checks (:func:`check_finance`, reverse-factoring
    buyers against the scenario's trade), then against the scenario: partners exist; series have one
    value per period (:func:`check_periods`); early-payment suppliers are suppliers of the partner;
    instruments that lean on receivables have some to lean on; named customers trade with it."""
    fin = getattr(s, "finance", None)
    if fin is None:
        return []
    partners = {a.id: a for a in s.partners}
    customers, suppliers = scenario_trade(s)
    base = "finance.partners"
    problems = check_finance(fin, base, customers={a: sorted(c & set(partners)) for a, c in customers.items()})
    problems += check_partners_known(fin, base, partners, "the scenario")
    problems += check_periods(fin, base, s.time.periods, "the horizon", skip={pf.partner for pf in fin.partners} - set(partners))
    terms = getattr(s, "trade_terms", [])
    for i, pf in enumerate(fin.partners):
        if pf.partner not in partners:
            continue
        partner = partners[pf.partner]
        lags = {partner.payment_terms.collection_lag} | {t.lag for t in terms if t.seller == pf.partner}
        grants_credit = max(lags) > 0
        named = customers[pf.partner] | {EXTERNAL_PARTY, OPENING_PARTY}
        for j, inst in enumerate(pf.instruments):
            path = f"{base}[{i}].instruments[{j}]"
            if "receivables" in inst.collateral() and not grants_credit and not partner.opening_receivables:
                problems.append(Problem(path, f"'{pf.partner}' is paid at once (collection lag 0): it has no receivables for a {inst.type}", "warning"))
            for field_name in ("customers", "excluded_customers"):
                for k, c in enumerate(getattr(inst, field_name, None) or []):
                    if c not in named:
                        problems.append(Problem(f"{path}.{field_name}[{k}]", f"'{c}' is not a customer of '{pf.partner}' (customers: {', '.join(sorted(named))})", "warning"))
            if inst.pays_suppliers_early and inst.supplier is not None:
                mine = suppliers[pf.partner] | {EXTERNAL_PARTY}
                if inst.supplier not in mine:
                    problems.append(Problem(f"{path}.supplier", f"'{inst.supplier}' is not a supplier of '{pf.partner}' (suppliers: {', '.join(sorted(mine))})"))
    return problems


def finance_spec_from_scenario(s: Any) -> FinanceSpec | None:
    """The scenario's finance section as a :class:`FinanceSpec` (None without one): opening and
    minimum cash are left to the plan (the scenario's), customers are the scenario's trade."""
    fin = getattr(s, "finance", None)
    if fin is None:
        return None
    customers, _ = scenario_trade(s)
    return FinanceSpec(
        name=f"{s.name} funding",
        currency=s.currency,
        periods_per_year=periods_per_year(s.time.freq),
        objective=fin.objective,
        partners=[
            PartnerFinance(
                partner=pf.partner,
                deposit_rate=pf.deposit_rate,
                customers=sorted(customers.get(pf.partner, set()) & {a.id for a in s.partners}),
                instruments=pf.instruments,
            )
            for pf in fin.partners
        ],
    )


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

INSTRUMENT_TYPES = frozenset(get_args(m.model_fields["type"].annotation)[0] for m in INSTRUMENT_MODELS)
"""The instrument ``type`` tags (the tagged union's members)."""


def parse_finance_spec(data: Any, *, check: bool = True) -> FinanceSpec:
    """Parse and check a finance spec from a mapping; raise :class:`FinanceError` listing every error."""
    if not isinstance(data, dict):
        raise FinanceError([Problem("(finance)", "a finance spec must be a mapping of fields")])
    try:
        spec = FinanceSpec.model_validate(data)
    except ValidationError as exc:
        raise FinanceError(problems_from_validation_error(exc, "(finance)", INSTRUMENT_TYPES)) from None
    if check:
        problems = check_finance(spec)
        if any(p.severity == "error" for p in problems):
            raise FinanceError(problems)
    return spec


def load_finance_spec(path: str | Path, *, check: bool = True) -> FinanceSpec:
    """Load a finance spec from a YAML (or JSON) file."""
    path = Path(path)
    if not path.exists():
        raise FinanceError([Problem(str(path), "file not found")])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise FinanceError([Problem(str(path), f"cannot parse: {exc}")]) from None
    return parse_finance_spec(data, check=check)
