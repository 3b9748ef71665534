"""The cash-flow table a funding model starts from: per partner and period, the operating cash
flow and the balances that serve as collateral.

Tables (pandas DataFrames; money in the spec's currency):

``flows`` — one row per partner and period ``0 .. T-1`` (every partner the same periods, no gaps),
    with the columns of :data:`FLOW_COLUMNS` (``jointplan schema cashflows``): ``partner``,
    ``period``, ``operating_cash_flow`` and optional balances and flows.
``receivables`` (optional) — ``partner``, ``period``, ``customer``, ``age_days`` (oldest age of
    the ageing bucket, days since invoice; or an ``age_bucket`` label such as ``61-90``/``91+``),
    ``amount``: the receivables open at the end of the period, by customer and age.
``payables_due`` (optional) — ``partner``, ``period``, ``supplier``, ``amount``: payments due in
    the period at the supplier's net term (what an early-payment discount may bring forward).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from planning.working_capital import (
    EXTERNAL,
    OPENING,
    Affine,
    WorkingCapitalBook,
    book_of_streams,
    cash_streams_of,
)
from planning.status import has_solution
from scenarios.fields import Problem
from scenarios.finance import FinanceError

from .collateral import UNNAMED, parse_age_bucket


@dataclass(frozen=True)
class FlowColumn:
    """A column of the cash-flow table: what the reader checks and ``jointplan schema cashflows``
    prints (:func:`cashflows_json_schema`). Headers are read case-insensitively; an alias is read
    as the column when the column itself is absent."""

    name: str
    type: str  # of a cell, in JSON Schema terms: string, integer or number
    unit: str
    description: str
    required: bool = False
    nonnegative: bool = False
    aliases: tuple[str, ...] = ()


FLOW_COLUMNS = (
    FlowColumn("partner", "string", "", "Partner id", required=True),
    FlowColumn("period", "integer", "period",
               "Period index from 0; every partner has one row for every period 0 .. T-1 (no gaps)", required=True),
    FlowColumn("operating_cash_flow", "number", "currency/period",
               "Net cash from operations settled in the period, before any financing (negative: cash out)",
               required=True, aliases=("net_operating_cash_flow", "net_cash_flow", "operating_cash")),
    FlowColumn("date", "string", "date", "First day of the period, carried into the funding tables"),
    FlowColumn("opening_cash", "number", "currency",
               "Cash at the start of period 0, read from period 0's row (the instruments file's opening_cash wins)"),
    FlowColumn("min_cash", "number", "currency", "Cash to keep at the end of the period (the instruments file's "
               "min_cash wins)", nonnegative=True, aliases=("minimum_cash",)),
    FlowColumn("sales", "number", "currency/period", "Sales invoiced in the period (DSO)", nonnegative=True,
               aliases=("revenue",)),
    FlowColumn("cogs", "number", "currency/period", "Cost of goods sold in the period (DIO, DPO)", nonnegative=True,
               aliases=("cost_of_goods_sold",)),
    FlowColumn("receivables", "number", "currency", "Receivables open at the end of the period: the collateral of "
               "an asset-based line and of factoring (DSO)", nonnegative=True),
    FlowColumn("inventory", "number", "currency", "Inventory at cost at the end of the period: the collateral of an "
               "asset-based line and of an inventory loan (DIO)", nonnegative=True,
               aliases=("inventory_value", "inventory_at_cost")),
    FlowColumn("payables", "number", "currency", "Payables open at the end of the period (DPO)", nonnegative=True),
    FlowColumn("collections", "number", "currency/period", "Cash collected from receivables in the period: the share "
               "of the book collected, collections[t] / receivables[t-1], paces factoring", nonnegative=True),
)
REQUIRED_FLOW_COLUMNS = tuple(c.name for c in FLOW_COLUMNS if c.required)
OPTIONAL_FLOW_COLUMNS = tuple(c.name for c in FLOW_COLUMNS if not c.required)
FLOW_ALIASES = {alias: c.name for c in FLOW_COLUMNS for alias in c.aliases}
NONNEGATIVE_FLOW_COLUMNS = tuple(c.name for c in FLOW_COLUMNS if c.nonnegative)


def cashflows_json_schema() -> dict[str, Any]:
    """The JSON Schema of one row of the cash-flow CSV, from :data:`FLOW_COLUMNS`."""
    props: dict[str, Any] = {}
    for c in FLOW_COLUMNS:
        props[c.name] = {"type": c.type, "description": c.description, **({"unit": c.unit} if c.unit else {}),
                         **({"minimum": 0} if c.nonnegative else {}), **({"x-aliases": list(c.aliases)} if c.aliases else {})}
        if c.type == "integer":
            props[c.name]["minimum"] = 0
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "jointplan cash-flow table (CSV, one row per partner and period)",
        "description": "The cash forecast `jointplan fund CASHFLOWS.csv` funds. Money in the instruments file's "
                       "currency; other columns are ignored.",
        "type": "object",
        "properties": props,
        "required": list(REQUIRED_FLOW_COLUMNS),
    }

# Plan stream kinds: revenue invoiced, and costs of making, buying and moving goods (cost of sales)
REVENUE_KINDS = frozenset({"consumer_revenue", "transfer_revenue", "freight_revenue"})
COGS_KINDS = frozenset(
    {"material", "production", "subcontracting", "setup", "overtime", "wages", "purchases", "freight", "transport"}
)
FINANCING_KINDS = frozenset({"funding_gap_cost"})  # the plan's own price of a funding gap: replaced here


@dataclass
class CashFlowTable:
    """Operating cash flows and collateral balances per partner and period."""

    flows: pd.DataFrame
    receivables: pd.DataFrame | None = None
    payables_due: pd.DataFrame | None = None
    periods_per_year: int | None = None
    customers: dict[str, list[str]] | None = None  # known customers per partner (e.g. from a plan)
    source: str = ""
    warnings: list[Problem] = field(default_factory=list)

    @property
    def partners(self) -> list[str]:
        return list(dict.fromkeys(self.flows["partner"]))

    @property
    def T(self) -> int:
        return int(self.flows["period"].max()) + 1 if len(self.flows) else 0

    def series(self, partner: str, column: str, default: float | None = 0.0) -> np.ndarray | None:
        """One column of ``flows`` for a partner as an array over periods 0..T-1."""
        if column not in self.flows:
            return None if default is None else np.full(self.T, float(default))
        rows = self.flows[self.flows["partner"] == partner].sort_values("period")
        return rows[column].to_numpy(dtype=float)

    def receivables_at(self, partner: str, period: int) -> pd.DataFrame:
        """Open receivables of a partner at the end of a period: customer, age_days, amount."""
        if self.receivables is None:
            bal = self.series(partner, "receivables", None)
            amount = 0.0 if bal is None else float(bal[period])
            return pd.DataFrame({"customer": [None], "age_days": [math.nan], "amount": [amount]})
        r = self.receivables
        return r[(r["partner"] == partner) & (r["period"] == period)][["customer", "age_days", "amount"]]

    def payables_due_of(self, partner: str, supplier: str | None) -> np.ndarray:
        """Payments due per period at the net term, from one supplier (or all)."""
        out = np.zeros(self.T)
        if self.payables_due is None:
            return out
        p = self.payables_due[self.payables_due["partner"] == partner]
        if supplier is not None:
            p = p[p["supplier"] == supplier]
        for t, v in p.groupby("period")["amount"].sum().items():
            if 0 <= int(t) < self.T:
                out[int(t)] += float(v)
        return out

    def customers_of(self, partner: str) -> list[str] | None:
        """Known customers of a partner: from the table's customer info, else from receivables."""
        if self.customers is not None and partner in self.customers:
            return self.customers[partner]
        if self.receivables is not None:
            names = self.receivables.loc[self.receivables["partner"] == partner, "customer"].dropna()
            names = [c for c in names.astype(str).unique() if c not in (UNNAMED, OPENING, EXTERNAL)]
            return names or None
        return None


# ---------------------------------------------------------------------------------------------
# Checks and normalisation
# ---------------------------------------------------------------------------------------------


def _rename(df: pd.DataFrame, aliases: dict[str, str]) -> pd.DataFrame:
    cols = {c: str(c).strip().lower() for c in df.columns}
    df = df.rename(columns=cols)
    return df.rename(columns={k: v for k, v in aliases.items() if k in df.columns and v not in df.columns})


def _numeric(df: pd.DataFrame, col: str, where: str, problems: list[Problem], *, nonnegative: bool = False) -> None:
    values = pd.to_numeric(df[col], errors="coerce")
    bad = values.isna() & df[col].notna()
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        problems.append(Problem(f"{where}.{col}", f"row {i + 1}: {df[col].iloc[i]!r} is not a number"))
    df[col] = values
    if nonnegative and (values < 0).any():
        i = int(np.flatnonzero((values < 0).to_numpy())[0])
        row = df.iloc[i]
        problems.append(
            Problem(
                f"{where}.{col}",
                f"must not be negative (partner '{row.get('partner')}', period {row.get('period')}: {values.iloc[i]})",
            )
        )


def check_flows(flows: pd.DataFrame) -> list[Problem]:
    """Required columns, numbers, no duplicate rows, and every partner with every period
    ``0 .. T-1`` (a gap is an error: the model cannot guess a missing period's cash)."""
    problems: list[Problem] = []
    missing = [c for c in REQUIRED_FLOW_COLUMNS if c not in flows.columns]
    if missing:
        return [Problem("cashflows", f"missing column(s): {', '.join(missing)} (have: {', '.join(map(str, flows.columns))})")]
    if flows.empty:
        return [Problem("cashflows", "the cash-flow table has no rows")]
    if flows["partner"].isna().any():
        i = int(np.flatnonzero(flows["partner"].isna().to_numpy())[0])
        problems.append(Problem("cashflows.partner", f"row {i + 1} has no partner"))
    _numeric(flows, "period", "cashflows", problems)
    _numeric(flows, "operating_cash_flow", "cashflows", problems)
    for col in ("opening_cash",):
        if col in flows:
            _numeric(flows, col, "cashflows", problems)
    for col in NONNEGATIVE_FLOW_COLUMNS:
        if col in flows:
            _numeric(flows, col, "cashflows", problems, nonnegative=True)
    if problems:
        return problems
    per = flows["period"]
    if (per != per.round()).any() or (per < 0).any():
        bad = flows.loc[(per != per.round()) | (per < 0), "period"].iloc[0]
        return [Problem("cashflows.period", f"periods are whole numbers from 0 (got {bad})")]
    nan_flow = flows["operating_cash_flow"].isna()
    if nan_flow.any():
        row = flows[nan_flow].iloc[0]
        problems.append(
            Problem(
                "cashflows.operating_cash_flow",
                f"no value for partner '{row['partner']}' in period {int(row['period'])}",
            )
        )
    dup = flows.duplicated(["partner", "period"], keep="first")
    if dup.any():
        row = flows[dup].iloc[0]
        problems.append(
            Problem("cashflows", f"partner '{row['partner']}' has two rows for period {int(row['period'])}")
        )
    T = int(per.max()) + 1
    for partner, rows in flows.groupby("partner", sort=False):
        have = set(rows["period"].astype(int))
        gaps = sorted(set(range(T)) - have)
        if gaps:
            shown = ", ".join(map(str, gaps[:8])) + (" ..." if len(gaps) > 8 else "")
            problems.append(
                Problem(
                    f"cashflows[partner={partner}].period",
                    f"gap in the cash-flow table: no row for period(s) {shown} (the horizon is 0..{T - 1})",
                )
            )
    for col in ("sales", "cogs", "receivables", "inventory", "payables", "collections", "min_cash"):
        if col in flows and flows[col].isna().any() and not flows[col].isna().all():
            row = flows[flows[col].isna()].iloc[0]
            problems.append(
                Problem(f"cashflows.{col}", f"no value for partner '{row['partner']}' in period {int(row['period'])}")
            )
    return problems


def _normalise_receivables(rec: pd.DataFrame, partners: set[str], T: int, problems: list[Problem]) -> pd.DataFrame:
    rec = _rename(rec, {"balance": "amount", "open_amount": "amount"})
    need = [c for c in ("partner", "period", "amount") if c not in rec.columns]
    if need:
        problems.append(Problem("receivables", f"missing column(s): {', '.join(need)}"))
        return rec
    if "age_days" not in rec.columns:
        if "age_bucket" in rec.columns:
            try:
                rec["age_days"] = [parse_age_bucket(v) for v in rec["age_bucket"]]
            except ValueError as exc:
                problems.append(Problem("receivables.age_bucket", str(exc)))
                return rec
        else:
            rec["age_days"] = math.nan
    if "customer" not in rec.columns:
        rec["customer"] = None
    _numeric(rec, "period", "receivables", problems)
    _numeric(rec, "amount", "receivables", problems, nonnegative=True)
    _numeric(rec, "age_days", "receivables", problems, nonnegative=True)
    if problems:
        return rec
    unknown = sorted(set(rec["partner"].astype(str)) - partners)
    if unknown:
        problems.append(Problem("receivables.partner", f"partner(s) not in the cash-flow table: {', '.join(unknown)}"))
    out = rec[(rec["period"] < 0) | (rec["period"] >= T) | (rec["period"] != rec["period"].round())]
    if len(out):
        problems.append(Problem("receivables.period", f"period {out['period'].iloc[0]} is outside the horizon 0..{T - 1}"))
    rec["period"] = rec["period"].astype(int)
    return rec[["partner", "period", "customer", "age_days", "amount"]].reset_index(drop=True)


def _normalise_payables(pay: pd.DataFrame, partners: set[str], T: int, problems: list[Problem]) -> pd.DataFrame:
    pay = _rename(pay, {"due": "amount"})
    need = [c for c in ("partner", "period", "amount") if c not in pay.columns]
    if need:
        problems.append(Problem("payables_due", f"missing column(s): {', '.join(need)}"))
        return pay
    if "supplier" not in pay.columns:
        pay["supplier"] = None
    _numeric(pay, "period", "payables_due", problems)
    _numeric(pay, "amount", "payables_due", problems, nonnegative=True)
    if problems:
        return pay
    unknown = sorted(set(pay["partner"].astype(str)) - partners)
    if unknown:
        problems.append(Problem("payables_due.partner", f"partner(s) not in the cash-flow table: {', '.join(unknown)}"))
    pay["period"] = pay["period"].astype(int)
    return pay[["partner", "period", "supplier", "amount"]].reset_index(drop=True)


def make_cashflow_table(
    flows: pd.DataFrame,
    receivables: pd.DataFrame | None = None,
    payables_due: pd.DataFrame | None = None,
    *,
    periods_per_year: int | None = None,
    customers: dict[str, list[str]] | None = None,
    source: str = "",
) -> CashFlowTable:
    """Check and normalise the tables; raise :class:`FinanceError` listing every problem."""
    flows = _rename(flows.copy(), FLOW_ALIASES)
    problems = check_flows(flows)
    if problems:
        raise FinanceError(problems)
    flows["partner"] = flows["partner"].astype(str)
    flows["period"] = flows["period"].astype(int)
    flows = flows.sort_values(["partner", "period"], kind="stable")
    order = list(dict.fromkeys(flows["partner"]))
    flows = flows.reset_index(drop=True)
    T = int(flows["period"].max()) + 1
    partners = set(order)
    rec = pay = None
    if receivables is not None:
        rec = _normalise_receivables(receivables.copy(), partners, T, problems)
    if payables_due is not None:
        pay = _normalise_payables(payables_due.copy(), partners, T, problems)
    if problems:
        raise FinanceError(problems)
    warnings: list[Problem] = []
    if rec is not None:
        totals = rec.groupby(["partner", "period"])["amount"].sum()
        derived = np.array([float(totals.get((a, t), 0.0)) for a, t in zip(flows["partner"], flows["period"])])
        if "receivables" in flows:
            diff = np.abs(derived - flows["receivables"].to_numpy(dtype=float))
            if (diff > 1e-6 * np.maximum(1.0, np.abs(derived))).any():
                i = int(np.argmax(diff))
                raise FinanceError(
                    [
                        Problem(
                            "receivables",
                            f"detail for partner '{flows['partner'][i]}', period {flows['period'][i]} adds up to "
                            f"{derived[i]:,.2f} but the cash-flow table says {flows['receivables'][i]:,.2f}",
                        )
                    ]
                )
        flows["receivables"] = derived
    table = CashFlowTable(
        flows=flows,
        receivables=rec,
        payables_due=pay,
        periods_per_year=periods_per_year,
        customers=customers,
        source=source,
        warnings=warnings,
    )
    return table


def _read_csv(path: str | Path, what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise FinanceError([Problem(str(path), f"{what} file not found")])
    try:
        return pd.read_csv(path, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FinanceError([Problem(str(path), f"cannot read {what} CSV: {exc}")]) from None


def read_cashflows_csv(
    path: str | Path,
    *,
    receivables: str | Path | None = None,
    payables_due: str | Path | None = None,
    periods_per_year: int | None = None,
) -> CashFlowTable:
    """Read a cash-flow table (and optional receivables ageing / payables-due files) from CSV."""
    flows = _read_csv(path, "cash-flow")
    rec = _read_csv(receivables, "receivables") if receivables is not None else None
    pay = _read_csv(payables_due, "payables") if payables_due is not None else None
    return make_cashflow_table(flows, rec, pay, periods_per_year=periods_per_year, source=str(path))


# ---------------------------------------------------------------------------------------------
# From a plan
# ---------------------------------------------------------------------------------------------


def plan_dict(plan: Any) -> dict[str, Any]:
    """A finished plan as its dict: a :class:`~planning.plan.Plan`, its dict, or a ``plan.json`` path
    (``FinanceError`` naming the file when it is missing or not JSON)."""
    if isinstance(plan, (str, Path)):
        path = Path(plan)
        if not path.exists():
            raise FinanceError([Problem(str(path), "plan file not found")])
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise FinanceError([Problem(str(path), f"cannot parse plan JSON: {exc}")]) from None
    if isinstance(plan, dict):
        return plan
    if hasattr(plan, "to_dict"):
        return plan.to_dict()
    raise FinanceError([Problem("plan", f"expected a Plan, a plan dict or a plan.json path, got {type(plan).__name__}")])


def _periods_per_year_from_dates(dates: pd.Series) -> int | None:
    d = pd.to_datetime(pd.Series(sorted(set(dates.dropna()))), errors="coerce").dropna()
    if len(d) < 2:
        return None
    step = float(np.median(np.diff(d.to_numpy()).astype("timedelta64[D]").astype(float)))
    return int(round(365.0 / step)) if step > 0 else None


def cashflows_from_plan(plan: Any) -> CashFlowTable:
    """The cash-flow table of a plan (a :class:`planning.plan.Plan`, its ``to_dict()``, or the
    path of a ``plan.json`` written by ``jointplan plan``): its ``cash_flows`` table read back
    as constant streams (:func:`planning.working_capital.cash_streams_of`) into the working-capital
    book, inventory at cost from its ``working_capital`` table; see :func:`plan_cashflow_table`."""
    data = plan_dict(plan)
    if not has_solution(data.get("status")):
        raise FinanceError([Problem("plan.status", f"the plan has no solution (status {data.get('status')!r})")])
    tables = data.get("tables", {})
    for name in ("cash_flows", "cash", "working_capital"):
        if name not in tables:
            raise FinanceError([Problem(f"plan.tables.{name}", "missing from the plan")])
    cf = pd.DataFrame(tables["cash_flows"])
    cash = pd.DataFrame(tables["cash"])
    wc = pd.DataFrame(tables["working_capital"]).set_index(["partner", "period"])["inventory_value"]
    partners = list(dict.fromkeys(cash["partner"]))
    T = int(cash["period"].max()) + 1
    if cf.empty:
        cf = pd.DataFrame(columns=["partner", "kind", "counterparty", "period_incurred", "period_settled", "amount"])
    inventory = {a: [Affine(float(wc.loc[(a, t)])) for t in range(T)] for a in partners}
    book = book_of_streams(cash_streams_of(cf, T), partners, T, inventory=inventory)
    return plan_cashflow_table(cf, cash, book, source=f"plan {data.get('scenario', '')}".strip())


def plan_cashflow_table(cash_flows: pd.DataFrame, cash: pd.DataFrame, book: WorkingCapitalBook, *, source: str = "") -> CashFlowTable:
    """The cash-flow table of a solved plan from its ``cash_flows`` (every stream, incurred and
    settled), its ``cash`` table (``partner, period, date, opening_cash, min_cash``) and its
    working-capital book in numbers (:mod:`planning.working_capital`).

    Operating cash flow is every stream settled in the period except the plan's own funding-gap
    charge (financing is what this module decides); sales and cogs are the revenue and cost of
    sales invoiced in the period. From the book: receivables open at the end of each period by
    customer and age ((t - u + 1) x days per period, days from the dates' spacing), those from
    before the horizon included; collections; payables (those from before the horizon included)
    and payables due at their term per supplier; inventory at cost (at least 0).
    """
    partners = list(dict.fromkeys(cash["partner"]))
    T = book.T
    ppy = _periods_per_year_from_dates(cash["date"]) if "date" in cash else None
    days = 365.0 / (ppy or 12)
    cf = cash_flows.copy()
    cf["counterparty"] = cf["counterparty"].where(cf["counterparty"].notna(), None)
    operating = cf[~cf["kind"].isin(FINANCING_KINDS) & (cf["period_settled"] < T)]
    op = operating.groupby(["partner", "period_settled"])["amount"].sum()
    inc = cf[cf["period_incurred"] < T]
    sales = inc[inc["kind"].isin(REVENUE_KINDS)].groupby(["partner", "period_incurred"])["amount"].sum()
    cogs = -inc[inc["kind"].isin(COGS_KINDS)].groupby(["partner", "period_incurred"])["amount"].sum()

    rec = pd.DataFrame(
        [(a, t, customer, k * days, cell.value()) for a in partners for t in range(T)
         for (customer, k), cell in book.receivables[a][t].items()],
        columns=["partner", "period", "customer", "age_days", "amount"],
    )
    if len(rec):
        rec = rec.groupby(["partner", "period", "customer", "age_days"], as_index=False)["amount"].sum()
    pay = pd.DataFrame(
        [(a, s, supplier, cell.value()) for a in partners for s in range(T)
         for supplier, cell in book.payables_due[a][s].items()],
        columns=["partner", "period", "supplier", "amount"],
    ).sort_values(["partner", "period", "supplier"], kind="stable", ignore_index=True)

    customers = {
        a: sorted({c for c in cf.loc[(cf["partner"] == a) & (cf["amount"] > 0), "counterparty"] if c is not None})
        for a in partners
    }
    rows = []
    for a in partners:
        ca = cash[cash["partner"] == a].set_index("period")
        for t in range(T):
            rows.append(
                {
                    "partner": a,
                    "period": t,
                    "date": ca.loc[t, "date"] if "date" in ca else None,
                    "opening_cash": float(ca.loc[0, "opening_cash"]),
                    "min_cash": max(0.0, float(ca.loc[t, "min_cash"])),
                    "operating_cash_flow": float(op.get((a, t), 0.0)),
                    "sales": float(sales.get((a, t), 0.0)),
                    "cogs": max(0.0, float(cogs.get((a, t), 0.0))),
                    "inventory": max(0.0, book.inventory[a][t].value()),
                    "payables": book.payables_total(a, t).value(),
                    "collections": book.collections[a][t].value(),
                }
            )
    return make_cashflow_table(pd.DataFrame(rows), rec, pay, periods_per_year=ppy, customers=customers, source=source)
