"""The plan's Excel workbook, as a finance team would forward it.

One function, :func:`build_workbook`, makes it from a plan result (``Plan.to_dict()``, the JSON
that ``jointplan plan --out`` writes and the service stores) and, optionally, the plan's funding
(``FundingResult.to_dict()``, or the same figures reassembled from the service's per-partner
funding rows). ``jointplan plan --xlsx``, ``jointplan fund --xlsx`` and ``GET /plans/{id}/xlsx``
all write it through :func:`write_workbook`.

Sheets, in order:

- **Summary**: the plan's facts (status, objective, horizon, currency, funding status) and its
  KPIs as one table, a row per measure (units in the label) and a column for the chain and for
  each partner; native Excel charts of each partner's closing cash against its minimum with the
  funding gap as columns, each stocking site's inventory against its safety stock, and each
  plant's capacity used against its regular capacity.
- **Funding** (when there is funding): its facts, the per-partner funding KPIs (peak need and its
  period, peak debt, interest and fees, effective annual rate, headroom, DSO/DIO/DPO/CCC), the
  instrument mix, and charts per partner: cash before and after financing against the minimum,
  instrument balances over time, and each limited instrument's availability against what is drawn
  (the headroom). A workbook of funding alone (``jointplan fund`` on a cash-flow CSV) starts here.
- **Funding at risk**, **Funding at risk periods** (``jointplan fund --at-risk``): the funding
  need's distribution over demand scenarios, with fan charts per partner.
- **Funding cash**, **Funding instruments**: the funding's tables per period.
- The plan's tables (Production, Capacity, Shipments, Inventory, Sales, Cash, Working capital,
  Cash flows, any extension's tables), then Binding limits, Warnings, Diagnosis when present.
- **Value of integration** (``jointplan value-of-integration --workbook``, a workbook of its own,
  :func:`integration_workbook`): the study's settings and summary, its table (a row per grid
  point) and a chart of the chain's profit after financing against the credit limit, joint and
  plan-then-fund, one pair of lines per combination of the other axes.
- **Chart data**: the per-chart series the charts plot (aggregated where a chart sums rows, e.g.
  inventory over a site's products), each block headed by the chart's title.

Speed: the table sheets hold most of the cells (a plan of 2,100 SKU-locations has half a million
rows). openpyxl makes an object per cell and serialises it as an element; here a table sheet is
an openpyxl sheet with its header row only, and its rows are written into the sheet's XML when
the workbook is saved (:class:`_TableRows`: a column at a time, each distinct value's XML made
once, 20,000 rows at a time, compressed by a second thread while the next rows are made). The
cells are the ones openpyxl would have written (values, number formats, inline strings). So a
workbook from :func:`build_workbook` has its table rows only once saved (with its own ``save``).
docs/performance.md has the figures (``benchmarks/workbook.py``).

Money cells carry a currency format (``[$EUR] #,##0.00``, negatives in red), quantities a
thousands separator, rates a percentage, dates a date format (no time). Table sheets have the
header row (and their key columns) frozen, an autofilter, column widths from their contents, and
print with the header repeated, landscape, one page wide.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import queue
import re
import threading
from dataclasses import dataclass
from itertools import chain, repeat
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Iterable, Mapping, Sequence
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.cell.cell import Cell
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart, Series
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.spreadsheet_drawing import AnchorMarker, SpreadsheetDrawing, TwoCellAnchor
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

# ---------------------------------------------------------------------------------------------
# Kinds of value and their formats
# ---------------------------------------------------------------------------------------------

MONEY, QTY, PCT, RATE, DAYS, PERIOD, DATE, INT, NUM, RATIO, TEXT, WORKERS, HOURS = (
    "money", "qty", "pct", "rate", "days", "period", "date", "int", "num", "ratio", "text", "workers", "hours")

QTY_FORMAT = "#,##0.0"
NUM_FORMAT = "#,##0.00"
DATE_FORMAT = "yyyy-mm-dd"
FORMATS = {
    QTY: QTY_FORMAT, PCT: "0.0%", RATE: "0.00%", DAYS: "#,##0.0", PERIOD: "0", INT: "#,##0", NUM: NUM_FORMAT,
    RATIO: '0.00"x"', DATE: DATE_FORMAT, WORKERS: "#,##0.0", HOURS: "#,##0.0", TEXT: "@",
}

# Columns of the plan's and the funding's tables (names as in the plan JSON)
COLUMN_KINDS: dict[str, str] = {
    # keys and periods
    "period": PERIOD, "arrival_period": PERIOD, "period_incurred": PERIOD, "period_settled": PERIOD, "date": DATE,
    "setup": INT,
    # quantities (product units)
    "production": QTY, "subcontracting": QTY, "quantity": QTY, "inventory": QTY, "safety_stock": QTY,
    "safety_shortfall": QTY, "demand": QTY, "sales": QTY, "backlog": QTY, "lost_sales": QTY, "units": QTY,
    # capacity (hours or units, per the row's capacity_unit) and workforce
    "capacity_used": HOURS, "regular_capacity": HOURS, "overtime": HOURS,
    "workforce": WORKERS, "hired": WORKERS, "laid_off": WORKERS,
    # money
    "opening_cash": MONEY, "inflows": MONEY, "outflows": MONEY, "other_flows": MONEY, "closing_cash": MONEY,
    "min_cash": MONEY, "funding_gap": MONEY, "amount": MONEY, "value": MONEY, "price": MONEY, "revenue": MONEY,
    "receivables": MONEY, "inventory_value": MONEY, "payables": MONEY, "working_capital": MONEY,
    "operating_cash_flow": MONEY, "cash_before_financing": MONEY, "financing_inflows": MONEY,
    "financing_outflows": MONEY, "interest": MONEY, "fees": MONEY, "deposit_interest": MONEY, "unfunded_cover": MONEY,
    "shortfall": MONEY, "debt_outstanding": MONEY, "discount_taken": MONEY, "discount_given": MONEY,
    "opening_balance": MONEY, "inflow": MONEY, "outflow": MONEY, "closing_balance": MONEY, "limit": MONEY,
    "availability": MONEY, "headroom": MONEY, "collateral": MONEY, "face_sold": MONEY, "face_outstanding": MONEY,
    "borrowed": MONEY, "gross_receivables": MONEY, "ineligible_over_age": MONEY, "ineligible_excluded": MONEY,
    "ineligible_concentration": MONEY, "eligible_receivables": MONEY, "coverage": RATIO,
    # binding limits: the limit is in the constraint's own unit; the shadow price is money per unit of it
    "shadow_price": MONEY,
    # waste: scrap cost paid and the standard-cost value of the stock lost
    "cost": MONEY, "value_lost": MONEY,
    # stock and shipments by age: the period the units entered the chain, and periods since
    "cohort": PERIOD, "age": PERIOD,
}

# Readable names where the column name is not one
HEADERS: dict[str, str] = {
    "period": "Period no.", "arrival_period": "Arrival period no.", "period_incurred": "Period incurred no.",
    "period_settled": "Period settled no.", "date": "Period start", "min_cash": "Minimum cash",
    "capacity_unit": "Capacity unit", "laid_off": "Laid off", "setup": "Setups", "value": "Inventory value",
    "amount": "Amount (+ in, - out)", "other_flows": "Other flows (financing)", "coverage": "Collateral coverage",
    "unfunded_cover": "Unfunded cover", "ineligible_over_age": "Ineligible: over age",
    "ineligible_excluded": "Ineligible: excluded", "ineligible_concentration": "Ineligible: concentration",
    "face_sold": "Face value sold", "face_outstanding": "Face value outstanding",
    "cohort": "Entered in period no.", "age": "Age (periods)",
}

TABLE_TITLES = {
    "production": "Production", "capacity": "Capacity", "shipments": "Shipments", "inventory": "Inventory",
    "sales": "Sales", "cash": "Cash", "working_capital": "Working capital", "cash_flows": "Cash flows",
    "waste": "Waste", "stock_ages": "Stock by age", "shipment_ages": "Shipments by age",
}
# The plan's copies of the funding tables (joint planning): shown on the funding sheets instead
PLAN_FUNDING_TABLES = {"funding_partners": "partners", "funding_cash": "cash", "funding_instruments": "instruments"}
KEY_COLUMNS = ("partner", "site", "product", "lane", "origin", "destination", "instrument", "type", "kind",
               "counterparty", "customer", "supplier", "period", "date")

# KPI rows of the summary table: (key, label, kind); the chain's values and each partner's
PARTNER_ROWS: tuple[tuple[str, str, str], ...] = (
    ("role", "Role", TEXT),
    ("revenue", "Revenue", MONEY),
    ("costs.*", "Cost: {}", MONEY),
    ("total_cost", "Total cost", MONEY),
    ("penalties.*", "Penalty: {}", MONEY),
    ("extensions.*", "Profit adjustment: {}", MONEY),
    ("profit", "Profit", MONEY),
    ("closing_cash", "Cash at the end", MONEY),
    ("min_closing_cash", "Lowest closing cash", MONEY),
    ("peak_working_capital", "Peak working capital", MONEY),
    ("peak_working_capital_period", "Peak working capital: period", PERIOD),
    ("peak_funding_gap", "Peak funding gap", MONEY),
    ("peak_funding_gap_period", "Peak funding gap: period", PERIOD),
    ("total_funding_gap", "Funding gap summed over periods", MONEY),
    ("receivables_at_end", "Receivables at the end", MONEY),
    ("payables_at_end", "Payables at the end", MONEY),
    ("demand", "Demand", QTY),
    ("sales", "Sales", QTY),
    ("fill_rate", "Fill rate (on time)", PCT),
    ("unmet_demand", "Unmet demand", QTY),
    ("lost_sales", "Lost sales", QTY),
    ("backlog_unit_periods", "Backlog", "unit_periods"),
    ("average_inventory_value", "Average inventory value", MONEY),
    ("ending_inventory_value", "Inventory value at the end", MONEY),
)
FUNDING_ROWS: tuple[tuple[str, str, str], ...] = (
    ("peak_funding_need", "Peak funding need", MONEY),
    ("peak_funding_need_period", "Peak funding need: period", PERIOD),
    ("peak_debt", "Peak debt", MONEY),
    ("peak_debt_period", "Peak debt: period", PERIOD),
    ("average_debt", "Average debt", MONEY),
    ("interest", "Interest", MONEY),
    ("fees", "Fees", MONEY),
    ("accrued_interest_carried", "Interest accrued past the horizon", MONEY),
    ("financing_cost", "Financing cost (interest + fees)", MONEY),
    ("deposit_interest", "Deposit interest earned", MONEY),
    ("discounts_taken", "Early-payment discounts taken", MONEY),
    ("discounts_given", "Early-payment discounts given", MONEY),
    ("net_financing_cost", "Net financing cost", MONEY),
    ("rate_per_period", "Financing rate per period", RATE),
    ("annual_rate_simple", "Financing rate a year (simple)", RATE),
    ("effective_annual_rate", "Effective annual rate", RATE),
    ("ending_cash", "Cash at the end", MONEY),
    ("ending_debt", "Debt at the end", MONEY),
    ("min_cash_headroom", "Least cash above the minimum", MONEY),
    ("days_sales_outstanding", "DSO: days sales outstanding", DAYS),
    ("days_inventory_outstanding", "DIO: days inventory outstanding", DAYS),
    ("days_payables_outstanding", "DPO: days payables outstanding", DAYS),
    ("cash_conversion_cycle_days", "CCC: cash conversion cycle", DAYS),
    ("peak_shortfall", "Peak shortfall (unfunded)", MONEY),
    ("peak_shortfall_period", "Peak shortfall: period", PERIOD),
    ("funded", "Funded", "bool"),
)
INSTRUMENT_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("drawn", "Drawn", MONEY), ("repaid", "Repaid", MONEY), ("peak_balance", "Peak balance", MONEY),
    ("ending_balance", "Balance at the end", MONEY), ("interest", "Interest", MONEY), ("fees", "Fees", MONEY),
    ("discount_taken", "Discount taken", MONEY), ("min_headroom", "Least headroom", MONEY),
    # early-payment discounts only: what forgoing the discount costs a year (365-day year)
    ("forgone_discount_simple_rate", "Cost of forgoing the discount a year (simple)", RATE),
    ("forgone_discount_effective_rate", "Cost of forgoing the discount a year (effective)", RATE),
)
# A period KPI is shown as the period's start date; blank where the peak it dates is nothing
PERIOD_OF_AMOUNT = {
    "peak_working_capital_period": None,
    "peak_funding_gap_period": "peak_funding_gap",
    "peak_funding_need_period": "peak_funding_need",
    "peak_debt_period": "peak_debt",
    "peak_shortfall_period": "peak_shortfall",
}

# A table sheet's rows are made and compressed this many at a time (the two overlap)
TABLE_CHUNK_ROWS = 20_000
MAX_CHARTS_PER_GROUP = 12
# Charts sit in a grid of cells right of the tables, each spanning 7 columns (set to 10 characters,
# about 2 cm) by 15 rows and anchored to both corners, so that no viewer overlaps them
CHART_COLS, CHART_ROWS = 8, 16  # grid step: the chart and a blank column or row
CHART_COLUMN_WIDTH = 10.0
RED, BLUE, GREY, GREEN, ORANGE = "C0392B", "1F4E79", "7F7F7F", "2E7D32", "E67E22"
SERIES_COLOURS = ("1F4E79", "E67E22", "2E7D32", "8E44AD", "16A085", "B7950B", "5D6D7E", "A93226")

TITLE_FONT = Font(bold=True, size=14)
SECTION_FONT = Font(bold=True, size=12)
HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDE4EE")
HEADER_BORDER = Border(bottom=Side(style="thin", color="7F7F7F"))
NOTE_FONT = Font(italic=True, color="595959")


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def write_workbook(target: str | Path | IO[bytes], plan: Mapping[str, Any] | None,
                   funding: Mapping[str, Any] | None = None, *, currency: str | None = None) -> None:
    """Save :func:`build_workbook`'s workbook to a path or a binary file object."""
    build_workbook(plan, funding, currency=currency).save(target)


def workbook_bytes(plan: Mapping[str, Any] | None, funding: Mapping[str, Any] | None = None, *,
                   currency: str | None = None) -> bytes:
    buf = io.BytesIO()
    write_workbook(buf, plan, funding, currency=currency)
    return buf.getvalue()


def build_workbook(plan: Mapping[str, Any] | None, funding: Mapping[str, Any] | None = None, *,
                   currency: str | None = None) -> "_ReportWorkbook":
    """The workbook of a plan result (``Plan.to_dict()`` or the service's stored result) and,
    optionally, its funding (``FundingResult.to_dict()``-shaped). A joint plan (planned with its
    funding) carries its funding itself: it is used when ``funding`` is not given. ``plan`` may
    be None for a workbook of funding alone. ``currency`` defaults to the plan's, then the
    funding's; without one, amounts have no currency code.

    The table sheets' data rows are written when the workbook is saved (``.save(target)``): in
    the returned workbook those sheets hold their header row only."""
    if plan is None and funding is None:
        raise ValueError("a workbook needs a plan or a funding result")
    plan = dict(plan or {})
    if funding is None and plan:
        funding = funding_of_joint_plan(plan)
    cur = _currency_code(currency or plan.get("currency") or (funding or {}).get("currency") or "")
    book = _Book(cur, _period_dates(plan, funding))
    wb = book.wb
    if plan:
        book.summary_sheet(plan, funding)
    if funding:
        book.funding_sheets(_in_plan_order(funding, plan))
    if plan:
        tables = plan.get("tables") or {}
        for name, rows in tables.items():
            if name in PLAN_FUNDING_TABLES and funding:
                continue
            book.table_sheet(TABLE_TITLES.get(name, _humanise(name)), rows)
        if plan.get("binding_limits"):
            book.table_sheet("Binding limits", plan["binding_limits"])
        if plan.get("warnings"):
            book.table_sheet("Warnings", plan["warnings"])
    diagnoses = [("Plan", plan.get("diagnosis"))]
    if (funding or {}).get("diagnosis") and funding["diagnosis"] != plan.get("diagnosis"):
        diagnoses.append(("Funding", funding["diagnosis"]))
    if any(d for _, d in diagnoses):
        book.diagnosis_sheet(diagnoses)
    book.finish()
    return wb


INTEGRATION_COLUMNS = (
    ("demand", "Demand scale", NUM), ("buyer_terms", "Buyer terms (periods)", NUM), ("rate", "Line rate a year", PCT),
    ("limit_share", "Limit / peak need", PCT), ("peak_need", "Peak need (sequential)", MONEY),
    ("credit_limit", "Credit limit", MONEY), ("sequential_funded", "Sequential funded", "bool"),
    ("sequential_chain_profit", "Sequential profit after financing", MONEY),
    ("joint_chain_profit", "Joint profit after financing", MONEY), ("gain", "Joint - sequential", MONEY),
    ("sequential_fill_rate", "Sequential fill rate", PCT), ("joint_fill_rate", "Joint fill rate", PCT),
    ("sequential_financing_cost", "Sequential financing cost", MONEY),
    ("joint_financing_cost", "Joint financing cost", MONEY),
    ("joint_not_worse", "Joint >= sequential", "bool"), ("conserved", "Cash conserved", "bool"),
    ("seconds", "Seconds", NUM),
)


def integration_workbook(study: Mapping[str, Any]) -> Workbook:
    """The **Value of integration** sheet of a study (``IntegrationStudy.to_dict()``): settings,
    summary, the table and a scatter chart with lines (x: credit limit / peak need, y: chain
    profit after financing; per combination of demand, terms and rate a solid joint line and a
    dashed plan-then-fund line, which has gaps where that plan cannot be funded)."""
    book = _Book(_currency_code(study.get("currency") or ""), {})
    ws = book.new_sheet("Value of integration")
    st, sm = study.get("settings") or {}, study.get("summary") or {}
    book.put(ws, 1, 1, f"Value of planning with finance: {study.get('scenario', '')}").font = TITLE_FONT
    row = book.facts(ws, 3, [
        ("Grid points", sm.get("points"), INT),
        ("Plan-then-fund cannot be funded at", sm.get("sequential_not_funded"), INT),
        ("Joint strictly better at", sm.get("joint_strictly_better"), INT),
        ("Largest gain", sm.get("largest_gain"), MONEY),
        ("Joint >= sequential everywhere", sm.get("joint_not_worse_everywhere"), "bool"),
        ("Cash conserved everywhere", sm.get("conserved_everywhere"), "bool"),
        ("Credit lines set by the grid", ", ".join(st.get("credit_lines") or []), TEXT),
        ("Limit share of", st.get("limit_share_of"), TEXT),
        ("Rate", st.get("rate_unit"), TEXT),
        ("Buyer whose terms vary", st.get("buyer"), TEXT),
        ("Buyer terms", st.get("buyer_terms_unit"), TEXT),
    ])
    ws.column_dimensions["A"].width = 34
    row += 1
    first = row + 1
    book.header(ws, row, 1, [book.label(lab, kind) if kind == MONEY else lab for _, lab, kind in INTEGRATION_COLUMNS])
    rows = study.get("rows") or []
    for r in rows:
        row += 1
        for j, (key, _, kind) in enumerate(INTEGRATION_COLUMNS):
            book.put(ws, row, 1 + j, r.get(key), kind)
    for j in range(1, len(INTEGRATION_COLUMNS)):
        ws.column_dimensions[get_column_letter(1 + j)].width = 16
    col = {key: 1 + j for j, (key, _, _) in enumerate(INTEGRATION_COLUMNS)}
    chart = ScatterChart()
    chart.style = 13
    chart.title = _title("Chain profit after financing against the credit limit")
    chart.x_axis.title = "Credit limit / peak funding need"
    chart.y_axis.title = book.currency or "currency"
    chart.x_axis.number_format = "0%"
    chart.y_axis.number_format = "#,##0"
    for ax in (chart.x_axis, chart.y_axis):
        ax.delete = False
    blocks: list[tuple[int, int, Mapping[str, Any]]] = []  # consecutive rows sharing demand, terms, rate
    for i, r in enumerate(rows):
        key = (r.get("demand"), r.get("buyer_terms"), r.get("rate"))
        if blocks and blocks[-1][2] == key:
            blocks[-1] = (blocks[-1][0], i, key)
        else:
            blocks.append((i, i, key))
    for k, (a, b, (demand, terms, rate)) in enumerate(blocks[:len(SERIES_COLOURS)]):
        name = ", ".join(x for x in (f"demand x{demand:g}" if demand not in (None, 1, 1.0) else "",
                                      f"terms {terms:g}" if terms is not None else "",
                                      f"rate {rate:.1%}" if rate is not None else "") if x) or "scenario"
        xref = Reference(ws, min_col=col["limit_share"], min_row=first + a, max_row=first + b)
        colour = SERIES_COLOURS[k]
        for key, label, dash in (("joint_chain_profit", "joint", None), ("sequential_chain_profit", "plan, then fund", "dash")):
            yref = Reference(ws, min_col=col[key], min_row=first + a, max_row=first + b)
            s = Series(yref, xref, title=f"{label}: {name}")
            s.marker.symbol = "circle"
            s.graphicalProperties.line.solidFill = colour
            s.graphicalProperties.line.width = 28575
            if dash:
                s.graphicalProperties.line.dashStyle = dash
            chart.series.append(s)
    chart.legend.position = "b"
    chart.anchor = TwoCellAnchor(_from=AnchorMarker(col=len(INTEGRATION_COLUMNS) + 1, row=1),
                                 to=AnchorMarker(col=len(INTEGRATION_COLUMNS) + 1 + 2 * CHART_COLS, row=1 + 2 * CHART_ROWS))
    if rows:
        ws.add_chart(chart)
    ws.freeze_panes = ws.cell(row=first, column=1)
    _print_setup(ws)
    book.finish()
    return book.wb


def _in_plan_order(funding: Mapping[str, Any], plan: Mapping[str, Any]) -> Mapping[str, Any]:
    """The funding's partners in the plan's order (the sizer lists them by name)."""
    order = list(((plan.get("kpis") or {}).get("partners") or {}))
    kpis = dict(funding.get("kpis") or {})
    partners = kpis.get("partners") or {}
    if not order or not partners:
        return funding
    rank = {a: i for i, a in enumerate(order)}
    kpis["partners"] = dict(sorted(partners.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    return {**funding, "kpis": kpis}


def funding_of_joint_plan(plan: Mapping[str, Any]) -> dict[str, Any] | None:
    """The funding a joint plan (planned with its instruments) carries: its ``kpis.finance`` and
    ``funding_*`` tables, shaped as ``FundingResult.to_dict()``. None for a plan without."""
    fin = (plan.get("kpis") or {}).get("finance")
    tables = plan.get("tables") or {}
    if not fin and not any(name in tables for name in PLAN_FUNDING_TABLES):
        return None
    fin = fin or {}
    total = fin.get("total") or {}
    return {
        "name": (plan.get("finance") or {}).get("name", ""),
        "source": f"joint plan {plan.get('scenario', '')}".strip(),
        "mode": "joint",
        "status": plan.get("status", ""),
        "objective_name": "net financing cost (joint plan)",
        "objective": total.get("net_financing_cost"),
        "currency": (plan.get("finance") or {}).get("currency") or plan.get("currency", ""),
        "periods_per_year": fin.get("periods_per_year"),
        "kpis": fin,
        "tables": {short: tables.get(name) or [] for name, short in PLAN_FUNDING_TABLES.items()},
        # a joint plan that cannot be funded: the plan's diagnosis says who is short, when, by how much
        "diagnosis": plan.get("diagnosis") if plan.get("status") == "infeasible" else None,
    }


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _currency_code(currency: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", currency or "")[:8].upper()


def money_format(currency: str) -> str:
    """Thousands separators, two decimals, the currency code, negatives in red."""
    code = _currency_code(currency)
    if not code:
        return "#,##0.00;[Red]-#,##0.00"
    return f"[${code}] #,##0.00;[Red]-[${code}] #,##0.00"


def _humanise(name: str) -> str:
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _cell_value(v: Any) -> Any:
    """A JSON value as a cell value: NaN and infinities as blanks, dates as dates, nested values as text."""
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, (int, str, dt.date)):
        return v
    if hasattr(v, "item"):  # numpy scalars
        return _cell_value(v.item())
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime().date()
    if isinstance(v, (list, tuple, dict)):
        return str(v) if v else None
    return str(v)


def _as_date(v: Any) -> dt.date | None:
    if v is None:
        return None
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if hasattr(v, "to_pydatetime"):
        return v.to_pydatetime().date()
    try:
        return dt.date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


def _period_dates(plan: Mapping[str, Any], funding: Mapping[str, Any] | None) -> dict[int, dt.date]:
    """Period number -> start date, from any table with both columns."""
    out: dict[int, dt.date] = {}
    sources = list(((plan or {}).get("tables") or {}).values()) + list(((funding or {}).get("tables") or {}).values())
    for rows in sources:
        if not rows or "period" not in rows[0] or "date" not in rows[0]:
            continue
        for r in rows:
            p = r.get("period")
            if not isinstance(p, int) or p in out:
                continue
            d = _as_date(r.get("date"))
            if d is not None:
                out[p] = d
    return out


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    cols: dict[str, None] = {}
    for r in rows[:1000]:
        cols.update(dict.fromkeys(r))
    return list(cols)


def _kind(name: str, values: Iterable[Any] = ()) -> str:
    if name in COLUMN_KINDS:
        return COLUMN_KINDS[name]
    if name.endswith("_period"):
        return PERIOD
    if name.endswith("_date") or name == "ds":
        return DATE
    for v in values:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            return TEXT
        return NUM if isinstance(v, float) else INT
    return TEXT


class _ReportWorkbook(Workbook):
    """An openpyxl workbook whose table sheets hold only their header row as cells: their data
    rows (:class:`_TableRows`, in ``table_rows`` by sheet title) are written straight into the
    sheets' XML when it is saved. Save it with :meth:`save` (openpyxl's ``save_workbook`` would
    leave the table sheets with their headers only); read the saved file to see the rows."""

    def __init__(self) -> None:
        super().__init__()
        self.table_rows: dict[str, _TableRows] = {}

    def save(self, filename: str | Path | IO[bytes]) -> None:
        self.properties.modified = dt.datetime.now(tz=dt.timezone.utc).replace(tzinfo=None)
        archive = ZipFile(filename, "w", ZIP_DEFLATED, allowZip64=True)
        try:
            _ReportWriter(self, archive).save()  # writes, then closes the archive
        except BaseException:
            archive.close()
            raise


class _ReportWriter(ExcelWriter):
    """openpyxl's writer, except that a table sheet's data rows go into its ``sheetData`` as XML
    made by :meth:`_TableRows.xml` (openpyxl makes and serialises an element per cell)."""

    def write_worksheet(self, ws: Worksheet) -> None:
        table = getattr(self.workbook, "table_rows", {}).get(ws.title)
        if table is None:
            return super().write_worksheet(ws)
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        writer = WorksheetWriter(ws, out=io.BytesIO())
        writer.write()  # everything but the data rows: header row, views, columns, filter, print setup
        xml = writer.read()
        end = xml.index(b"</sheetData>")
        last = f"{get_column_letter(len(table.cols))}{len(table.rows) + 1}"
        head = re.sub(rb'<dimension ref="[^"]*"', f'<dimension ref="A1:{last}"'.encode(), xml[:end], count=1)
        ws._rels = writer._rels
        with self._archive.open(ws.path[1:], "w") as out:
            out.write(head)
            _write_behind(out, (chunk.encode("utf-8") for chunk in table.chunks()))
            out.write(xml[end:])
        self.manifest.append(ws)


def _write_behind(out: IO[bytes], chunks: Iterable[bytes]) -> None:
    """Write ``chunks`` to ``out`` (a zip member: the write compresses) from a second thread, so
    that compressing one chunk overlaps making the next (zlib lets go of the GIL)."""
    pending: queue.Queue[bytes | None] = queue.Queue(maxsize=2)
    failed: list[BaseException] = []

    def drain() -> None:
        while (chunk := pending.get()) is not None:
            if not failed:
                try:
                    out.write(chunk)
                except BaseException as exc:  # noqa: BLE001 - raised again in the caller
                    failed.append(exc)

    writer = threading.Thread(target=drain, name="workbook-zip", daemon=True)
    writer.start()
    try:
        for chunk in chunks:
            if failed:
                break
            pending.put(chunk)
    finally:
        pending.put(None)
        writer.join()
    if failed:
        raise failed[0]


# Types of value that make cells by value alone (no two of them equal but different cells)
_PLAIN_TYPES = frozenset({float, int, str, type(None)})
_DATE_TYPES = frozenset({str, dt.date, dt.datetime, type(None)})


def _column_values(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> list[list[Any]]:
    """The rows' values column by column (None where a row has no such key)."""
    out = []
    for c in cols:
        try:
            out.append(list(map(itemgetter(c), rows)))
        except KeyError:  # a row without the key
            out.append([r.get(c) for r in rows])
    return out


_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class _TableRows:
    """A table sheet's data rows (from row 2), written as sheet XML: numbers with their column's
    number format, dates as date serials in the date format, booleans, text as inline strings (as
    openpyxl writes them), blanks for None, NaN and infinities."""

    rows: Sequence[Mapping[str, Any]]
    cols: Sequence[str]
    dates: Sequence[bool]  # a date column: its values are read as dates
    number_styles: Sequence[int | None]  # per column: the style of its number format, if any
    date_style: int

    def xml(self) -> str:
        return "".join(self.chunks())

    def chunks(self, size: int | None = None) -> Iterable[str]:
        """The rows' XML (``<row>`` elements), ``size`` rows at a time, each made a column at a
        time and joined once."""
        size = size or TABLE_CHUNK_ROWS
        for start in range(0, len(self.rows), size):
            rows = self.rows[start:start + size]
            values = _column_values(rows, self.cols)
            columns = [self._column(j, values[j], start + 2) for j in range(len(self.cols))]
            starts = [f'<row r="{i}">' for i in range(start + 2, start + 2 + len(rows))]
            yield "".join(chain.from_iterable(zip(starts, *columns, repeat("</row>", len(rows)))))

    def _column(self, j: int, values: Sequence[Any], first_row: int) -> list[str]:
        """The cells of column ``j`` (its ``values``, the first on sheet row ``first_row``) as
        XML, one string per row ("" for a blank)."""
        letter = get_column_letter(j + 1)
        num = f' s="{self.number_styles[j]}"' if self.number_styles[j] is not None else ""
        date = f' s="{self.date_style}"'
        texts: dict[Any, str] = {}
        rows = range(first_row, first_row + len(values))
        types = set(map(type, values))
        # The usual column holds numbers, text or ISO dates, and few distinct values: each one's
        # XML is made once. (1 and 1.0 are one key: the cell is the same number either way.)
        if types <= (_DATE_TYPES if self.dates[j] else _PLAIN_TYPES):
            if self.dates[j]:
                tails = {v: self._cell_tail(_as_date(v), num, date, texts) for v in set(values)}
            else:
                tails = {v: self._cell_tail(v, num, date, texts) for v in set(values)}
            if "" in tails.values():
                return [f'<c r="{letter}{i}"{tails[v]}' if tails[v] else "" for i, v in zip(rows, values)]
            return [f'<c r="{letter}{i}"{tails[v]}' for i, v in zip(rows, values)]
        # anything else (bools, numpy scalars, dates in a column not of dates, lists) value by value
        tails = {}
        out: list[str] = []
        add = out.append
        for i, v in zip(rows, values):
            if self.dates[j]:
                v = _as_date(v)
            k = (type(v), v)  # True == 1 == 1.0, but they are not the same cell
            try:
                tail = tails[k]
            except KeyError:
                tail = tails[k] = self._cell_tail(v, num, date, texts)
            except TypeError:  # unhashable: a list or a dict, written as text
                tail = self._cell_tail(v, num, date, texts)
            add(f'<c r="{letter}{i}"{tail}' if tail else "")
        return out

    @staticmethod
    def _cell_tail(v: Any, num: str, date: str, texts: dict[Any, str]) -> str:
        """A cell's XML after its reference (``' s=".." t=".."><v>..</v></c>'``); "" for a blank."""
        v = _cell_value(v)
        if v is None:
            return ""
        if isinstance(v, bool):
            return f' t="b"><v>{int(v)}</v></c>'
        if isinstance(v, float):
            return f"{num}><v>{float(v)!r}</v></c>"
        if isinstance(v, int):
            return f"{num}><v>{int(v)}</v></c>"
        if isinstance(v, dt.date):
            return f'{date}><v>{float(to_excel(v))!r}</v></c>'
        text = str(v)
        if not text:
            return ""  # as openpyxl: an empty string is an empty cell
        if text not in texts:
            body = _ILLEGAL_XML.sub("", text).translate(_XML_ESCAPES)
            space = ' xml:space="preserve"' if text.strip() and text != text.strip() else ""
            texts[text] = f' t="inlineStr"><is><t{space}>{body}</t></is></c>'
        return texts[text]


@dataclass
class _Block:
    """A chart's series on the chart-data sheet: categories and one column per series."""

    sheet: Worksheet
    header_row: int
    first_row: int
    last_row: int
    cat_col: int
    cols: dict[str, int]

    def data(self, label: str) -> Reference:
        col = self.cols[label]
        return Reference(self.sheet, min_col=col, max_col=col, min_row=self.header_row, max_row=self.last_row)

    def categories(self) -> Reference:
        return Reference(self.sheet, min_col=self.cat_col, max_col=self.cat_col, min_row=self.first_row,
                         max_row=self.last_row)


class _Book:
    def __init__(self, currency: str, dates: dict[int, dt.date]):
        self.currency = currency
        self.money = money_format(currency)
        self.dates = dates
        self.wb = _ReportWorkbook()
        self._first = self.wb.active
        self._chart_data: Worksheet | None = None
        self._chart_row = 1
        monthly = bool(dates) and all(d.day == 1 for d in dates.values())
        self.axis_date_format = "mmm yyyy" if monthly else DATE_FORMAT

    # formats and labels ------------------------------------------------------------------
    def fmt(self, kind: str) -> str | None:
        if kind == MONEY:
            return self.money
        if kind == "unit_periods":
            return QTY_FORMAT
        return FORMATS.get(kind)

    def unit(self, kind: str) -> str:
        return {MONEY: self.currency or "currency", QTY: "units", DAYS: "days", WORKERS: "workers",
                "unit_periods": "unit-periods"}.get(kind, "")

    def label(self, text: str, kind: str) -> str:
        unit = self.unit(kind)
        return f"{text} ({unit})" if unit else text

    def style_id(self, ws: Worksheet, number_format: str) -> int:
        """The workbook's cell-style index of a number format (registered if new)."""
        cell = Cell(ws)  # not placed in the sheet: it only registers the style
        cell.number_format = number_format
        return cell.style_id

    def new_sheet(self, title: str) -> Worksheet:
        title = re.sub(r"[\[\]:*?/\\]", " ", title)[:31]
        if self._first is not None:
            ws, self._first = self._first, None
            ws.title = title
        else:
            base, n = title, 2
            while title in self.wb.sheetnames:
                title = f"{base[:28]} {n}"
                n += 1
            ws = self.wb.create_sheet(title)
        return ws

    def period_value(self, p: Any) -> Any:
        """A period number as its start date where known."""
        if isinstance(p, int) and not isinstance(p, bool) and p in self.dates:
            return self.dates[p]
        return _cell_value(p)

    # cells -------------------------------------------------------------------------------
    def put(self, ws: Worksheet, row: int, col: int, value: Any, kind: str | None = None, *, bold: bool = False):
        if kind == PERIOD and not isinstance(value, dt.date):
            value = self.period_value(value)
        if kind == "bool" and isinstance(value, bool):
            value = "yes" if value else "no"
        value = _cell_value(value)
        cell = ws.cell(row=row, column=col, value=value)
        if isinstance(value, dt.date):
            cell.number_format = DATE_FORMAT
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and kind is not None:
            f = self.fmt(kind)
            if f and f != "@":
                cell.number_format = f
        if bold:
            cell.font = HEADER_FONT
        return cell

    def header(self, ws: Worksheet, row: int, col: int, labels: Sequence[str]) -> None:
        for j, text in enumerate(labels):
            cell = ws.cell(row=row, column=col + j, value=text)
            cell.font = HEADER_FONT
            cell.fill = HEADER_FILL
            cell.border = HEADER_BORDER
            cell.alignment = Alignment(wrap_text=True, vertical="bottom")

    def facts(self, ws: Worksheet, row: int, items: Sequence[tuple[str, Any, str | None]]) -> int:
        """Label/value rows from ``row``; returns the next free row."""
        for label, value, kind in items:
            if value is None or value == "":
                continue
            self.put(ws, row, 1, label, bold=True)
            self.put(ws, row, 2, value, kind)
            row += 1
        return row

    def measure_table(self, ws: Worksheet, row: int, rows: Sequence[tuple[str, str, Sequence[Any]]],
                      columns: Sequence[str]) -> int:
        """A table of measures (rows) by columns (chain, partners): returns the next free row."""
        self.header(ws, row, 1, ["Measure", *columns])
        row += 1
        for label, kind, values in rows:
            self.put(ws, row, 1, label)
            for j, v in enumerate(values):
                self.put(ws, row, 2 + j, v, kind)
            row += 1
        return row

    # the summary -------------------------------------------------------------------------
    def summary_sheet(self, plan: Mapping[str, Any], funding: Mapping[str, Any] | None) -> None:
        ws = self.new_sheet("Summary")
        kpis = plan.get("kpis") or {}
        chain = kpis.get("chain") or {}
        partners = kpis.get("partners") or {}
        self.put(ws, 1, 1, f"Supply-chain plan: {plan.get('scenario') or 'scenario'}").font = TITLE_FONT
        sense = plan.get("objective_sense") or ""
        dates = sorted(self.dates.values())
        fund_status = None
        if funding:
            mode = {"joint": "chosen with the plan", "sized": "sized after the plan"}.get(funding.get("mode") or "", "")
            fund_status = f"{funding.get('status', '')}" + (f" ({mode})" if mode else "")
        fund_cost = ((funding or {}).get("kpis") or {}).get("total", {}) or {}
        row = self.facts(ws, 3, [
            ("Status", plan.get("status"), TEXT),
            (self.label(f"Objective: {_humanise(sense).lower()}" if sense else "Objective", MONEY),
             plan.get("objective"), MONEY),
            ("Solver termination", plan.get("termination"), TEXT),
            ("MIP gap", plan.get("mip_gap"), RATE),
            ("First period starts", dates[0] if dates else None, DATE),
            ("Last period starts", dates[-1] if dates else None, DATE),
            ("Periods", len(dates) or None, INT),
            ("Currency", self.currency or None, TEXT),
            ("Funding", fund_status, TEXT),
            (self.label("Net financing cost", MONEY), fund_cost.get("net_financing_cost"), MONEY),
            ("Diagnosis", _diagnosis_message(plan.get("diagnosis")), TEXT),
            ("Warnings", f"{len(plan['warnings'])}: see the Warnings sheet" if plan.get("warnings") else None, TEXT),
        ])
        ws.column_dimensions["A"].width = 40
        if not chain and not partners:
            self.put(ws, row + 1, 1, "The plan has no KPIs (no solution).").font = NOTE_FONT
            return
        row += 1
        self.put(ws, row, 1, "KPIs per partner").font = SECTION_FONT
        row += 1
        names = list(partners)
        table_rows = kpi_rows(chain, partners, PARTNER_ROWS)
        label_rows = [(self.label(label, kind), kind, values) for label, kind, values in table_rows]
        row = self.measure_table(ws, row, label_rows, ["Chain", *names])
        self.put(ws, row, 1, "Chain: sales to consumers and the costs paid outside the chain; a partner's revenue "
                             "and costs include what partners pay each other. Periods are given by their start date."
                 ).font = NOTE_FONT
        for j in range(len(names) + 1):
            ws.column_dimensions[get_column_letter(2 + j)].width = max(18, len(str(([""] + names)[j])) + 4)
        self._summary_charts(ws, plan, 3 + len(names) + 1)
        _print_setup(ws)

    def _summary_charts(self, ws: Worksheet, plan: Mapping[str, Any], col: int) -> None:
        tables = plan.get("tables") or {}
        charts: list[list[Any]] = []
        cash = tables.get("cash") or []
        group = []
        for partner, rows in _group(cash, "partner").items():
            block = self.chart_block(f"{partner}: cash against its minimum", rows, [
                ("Closing cash", "closing_cash", MONEY), ("Minimum cash", "min_cash", MONEY),
                ("Funding gap", "funding_gap", MONEY)])
            group.append(self.combo_chart(
                f"{partner}: closing cash against minimum, funding gap as columns", block, MONEY,
                bars=[("Funding gap", RED)], lines=[("Closing cash", BLUE, None), ("Minimum cash", GREY, "dash")]))
        charts.append(group)
        inv = tables.get("inventory") or []
        group = []
        by_site = _group(inv, "site")
        if len(by_site) > MAX_CHARTS_PER_GROUP:
            by_site = {"all sites": inv}
        for site, rows in by_site.items():
            summed = _sum_by_period(rows, ("inventory", "safety_stock", "safety_shortfall"))
            if not any(r[k] for r in summed for k in ("inventory", "safety_stock", "safety_shortfall")):
                continue  # a site that never holds stock (e.g. a plant shipping all it makes)
            block = self.chart_block(f"{site}: inventory against safety stock (all products)", summed, [
                ("Inventory", "inventory", QTY), ("Safety stock", "safety_stock", QTY),
                ("Below safety stock", "safety_shortfall", QTY)])
            group.append(self.combo_chart(
                f"{site}: inventory against safety stock (units, all products)", block, QTY,
                bars=[("Below safety stock", RED)], lines=[("Inventory", BLUE, None), ("Safety stock", ORANGE, "dash")]))
        charts.append(group)
        cap = tables.get("capacity") or []
        group = []
        for site, rows in list(_group(cap, "site").items())[:MAX_CHARTS_PER_GROUP]:
            unit = str(rows[0].get("capacity_unit") or "capacity units")
            series = [("Capacity used", "capacity_used", HOURS), ("Regular capacity", "regular_capacity", HOURS),
                      ("Overtime", "overtime", HOURS)]
            block = self.chart_block(f"{site}: production against capacity ({unit})", rows, series)
            group.append(self.combo_chart(
                f"{site}: production against capacity ({unit})", block, None, y_title=unit,
                bars=[("Capacity used", BLUE), ("Overtime", ORANGE)], lines=[("Regular capacity", GREY, "dash")]))
        charts.append(group)
        self.place_charts(ws, charts, col)

    # funding -----------------------------------------------------------------------------
    def funding_sheets(self, funding: Mapping[str, Any]) -> None:
        ws = self.new_sheet("Funding")
        kpis = funding.get("kpis") or {}
        partners = kpis.get("partners") or {}
        total = kpis.get("total") or {}
        tables = funding.get("tables") or {}
        title = "Funding" + (f": {funding['name']}" if funding.get("name") else "")
        self.put(ws, 1, 1, title).font = TITLE_FONT
        mode = {"joint": "chosen with the plan (joint planning)", "sized": "sized after the plan"}.get(
            funding.get("mode") or "", funding.get("mode"))
        problems = funding.get("problems") or []
        row = self.facts(ws, 3, [
            ("Source", funding.get("source"), TEXT),
            ("Funding", mode, TEXT),
            ("Status", funding.get("status"), TEXT),
            (self.label(f"Objective: {_humanise(funding['objective_name']).lower()}" if funding.get("objective_name")
                        else "Objective", MONEY), funding.get("objective"), MONEY),
            ("Currency", self.currency or None, TEXT),
            ("Periods per year", funding.get("periods_per_year"), INT),
            ("Diagnosis", _diagnosis_message(funding.get("diagnosis")), TEXT),
            ("Note", (funding.get("diagnosis") or {}).get("note"), TEXT),
            ("Problems", "; ".join(f"{p.get('path', '')}: {p.get('message', '')}" for p in problems) or None, TEXT),
        ])
        ws.column_dimensions["A"].width = 40
        names = list(partners)
        if names:
            row += 1
            self.put(ws, row, 1, "Funding per partner").font = SECTION_FONT
            row += 1
            rows = kpi_rows(total, partners, FUNDING_ROWS)
            label_rows = [(self.label(label, kind), kind, values) for label, kind, values in rows]
            row = self.measure_table(ws, row, label_rows, ["Chain total", *names])
            self.put(ws, row, 1, "Periods are given by their start date; headroom is the least cash above the "
                                 "minimum over the horizon; rates include fees.").font = NOTE_FONT
            row += 2
            mix = [(a, n, i) for a, k in partners.items() for n, i in (k.get("instruments") or {}).items()]
            if mix:
                self.put(ws, row, 1, "Instrument mix").font = SECTION_FONT
                row += 1
                self.header(ws, row, 1, ["Partner", "Instrument", "Type",
                                         *[self.label(lab, kind) for _, lab, kind in INSTRUMENT_COLUMNS]])
                for a, n, i in mix:
                    row += 1
                    self.put(ws, row, 1, a)
                    self.put(ws, row, 2, n)
                    self.put(ws, row, 3, _humanise(i.get("type", "")))
                    for j, (key, _, kind) in enumerate(INSTRUMENT_COLUMNS):
                        self.put(ws, row, 4 + j, i.get(key), kind)
                row += 1
            for j in range(max(len(names) + 1, 3 + len(INSTRUMENT_COLUMNS))):
                ws.column_dimensions[get_column_letter(2 + j)].width = 18
        self._funding_charts(ws, funding, 3 + max(len(names) + 1, len(INSTRUMENT_COLUMNS) + 3))
        _print_setup(ws)
        for short, title in (("cash", "Funding cash"), ("instruments", "Funding instruments")):
            if tables.get(short):
                self.table_sheet(title, tables[short])
        extra = [n for n in tables if n not in ("cash", "instruments", "partners")]
        for name in extra:
            self.table_sheet(f"Funding {name}", tables[name])
        if funding.get("at_risk"):
            self.at_risk_sheets(funding["at_risk"])

    def at_risk_sheets(self, risk: Mapping[str, Any]) -> None:
        """**Funding at risk** (``jointplan fund --at-risk``): what was simulated, per partner the
        P50/P90/P95 of the peak need, the probability that the committed lines are not enough and
        the expected financing cost against the point plan's; per partner a fan chart of the cash
        before financing (P5 .. P95 over the scenarios) and one of the need (P50, P90, P95).
        **Funding at risk periods**: the per-partner, per-period table."""
        ws = self.new_sheet("Funding at risk")
        st = risk.get("settings") or {}
        unc = st.get("uncertainty") or {}
        self.put(ws, 1, 1, "Funding at risk: the funding need when demand differs from the forecast").font = TITLE_FONT
        row = self.facts(ws, 3, [
            ("Demand scenarios", st.get("scenarios"), INT),
            ("Seed", st.get("seed"), INT),
            ("Demand uncertainty", unc.get("source"), TEXT),
            ("Distribution", unc.get("distribution"), TEXT),
            ("Correlation across periods", unc.get("correlation_across_periods"), NUM),
            ("Frozen", st.get("frozen"), TEXT),
            ("Sales", st.get("sales_rule"), TEXT),
            ("Scenarios the lines cannot fund", st.get("scenarios_not_funded"), INT),
        ])
        ws.column_dimensions["A"].width = 40
        cols = [("partner", "Partner", TEXT), ("point_peak_need", "Point plan: peak need", MONEY),
                ("peak_need_p50", "Peak need P50", MONEY), ("peak_need_p90", "Peak need P90", MONEY),
                ("peak_need_p95", "Peak need P95", MONEY), ("peak_need_mean", "Peak need mean", MONEY),
                ("probability_lines_not_enough", "P(committed lines not enough)", PCT),
                ("point_financing_cost", "Point plan: financing cost", MONEY),
                ("expected_financing_cost", "Expected financing cost", MONEY),
                ("financing_cost_p90", "Financing cost P90", MONEY)]
        row += 1
        self.put(ws, row, 1, "Per partner").font = SECTION_FONT
        row += 1
        self.header(ws, row, 1, [self.label(lab, kind) if kind == MONEY else lab for _, lab, kind in cols])
        for r in risk.get("partners") or []:
            row += 1
            for j, (key, _, kind) in enumerate(cols):
                self.put(ws, row, 1 + j, r.get(key), kind)
        row += 1
        self.put(ws, row, 1, "Need = the peak over the horizon of max(0, minimum cash - cash before financing). "
                             "P90: in 9 scenarios of 10 the need is at most this; 1 in 10 needs more.").font = NOTE_FONT
        for j in range(len(cols) - 1):
            ws.column_dimensions[get_column_letter(2 + j)].width = 18
        periods = risk.get("periods") or []
        fans, needs = [], []
        for partner, rows in list(_group(periods, "partner").items())[:MAX_CHARTS_PER_GROUP]:
            bands = [(f"P{q}", f"cash_before_financing_p{q}", MONEY) for q in (5, 10, 50, 90, 95)]
            block = self.chart_block(f"{partner}: cash before financing over the scenarios", rows, bands)
            fans.append(self.combo_chart(
                f"{partner}: cash before financing, P5 .. P95 of the scenarios", block, MONEY,
                lines=[("P5", "AED6F1", "dash"), ("P10", "5DADE2", None), ("P50", BLUE, None),
                       ("P90", "5DADE2", None), ("P95", "AED6F1", "dash")]))
            block = self.chart_block(f"{partner}: funding need over the scenarios", rows, [
                ("Need P50", "need_p50", MONEY), ("Need P90", "need_p90", MONEY), ("Need P95", "need_p95", MONEY)])
            needs.append(self.combo_chart(
                f"{partner}: funding need per period (P50, P90, P95)", block, MONEY,
                bars=[("Need P50", BLUE)], lines=[("Need P90", ORANGE, None), ("Need P95", RED, "dash")]))
        self.place_charts(ws, [fans, needs], 2 + len(cols))
        _print_setup(ws)
        if periods:
            self.table_sheet("Funding at risk periods", periods)

    def _funding_charts(self, ws: Worksheet, funding: Mapping[str, Any], col: int) -> None:
        tables = funding.get("tables") or {}
        cash_group, balance_group, base_group = [], [], []
        for partner, rows in list(_group(tables.get("cash") or [], "partner").items())[:MAX_CHARTS_PER_GROUP]:
            block = self.chart_block(f"{partner}: cash before and after financing", rows, [
                ("Cash before financing", "cash_before_financing", MONEY), ("Cash after financing", "closing_cash", MONEY),
                ("Minimum cash", "min_cash", MONEY), ("Shortfall (unfunded)", "shortfall", MONEY)])
            cash_group.append(self.combo_chart(
                f"{partner}: cash before and after financing against minimum", block, MONEY,
                bars=[("Shortfall (unfunded)", RED)],
                lines=[("Cash before financing", ORANGE, None), ("Cash after financing", BLUE, None),
                       ("Minimum cash", GREY, "dash")]))
        inst = tables.get("instruments") or []
        for partner, rows in _group(inst, "partner").items():
            by_inst = _group(rows, "instrument")
            drawn = {n: r for n, r in by_inst.items() if any(_finite(x.get("closing_balance")) and abs(x["closing_balance"]) > 1e-9 for x in r)}
            if drawn and len(balance_group) < MAX_CHARTS_PER_GROUP:
                series = {n: {int(x["period"]): x.get("closing_balance") for x in r} for n, r in drawn.items()}
                periods = sorted({p for s in series.values() for p in s})
                wide = [{"period": p, **{n: s.get(p) for n, s in series.items()}} for p in periods]
                block = self.chart_block(f"{partner}: instrument balances", wide, [(n, n, MONEY) for n in series])
                balance_group.append(self.combo_chart(
                    f"{partner}: instrument balances at period end", block, MONEY,
                    bars=[(n, SERIES_COLOURS[k % len(SERIES_COLOURS)]) for k, n in enumerate(series)], stacked=True))
            for name, r in by_inst.items():
                if len(base_group) >= MAX_CHARTS_PER_GROUP:
                    break
                if not any(_finite(x.get("availability")) for x in r):
                    continue
                kind = _humanise(str(r[0].get("type", ""))).lower()
                block = self.chart_block(f"{partner} {name}: availability and headroom", r, [
                    ("Drawn", "closing_balance", MONEY), ("Availability", "availability", MONEY),
                    ("Headroom", "headroom", MONEY)])
                base_group.append(self.combo_chart(
                    f"{partner} {name} ({kind}): drawn against availability", block, MONEY,
                    bars=[("Drawn", BLUE)], lines=[("Availability", GREEN, None), ("Headroom", ORANGE, "dash")]))
        self.place_charts(ws, [cash_group, balance_group, base_group], col)

    # tables ------------------------------------------------------------------------------
    def table_sheet(self, title: str, rows: Sequence[Mapping[str, Any]]) -> Worksheet | None:
        rows = list(rows or [])
        if not rows:
            return None
        ws = self.new_sheet(title)
        cols = _columns(rows)
        add_date = "period" in cols and "date" not in cols and bool(self.dates)
        if add_date:  # e.g. the funding instruments: their period's start date next to the number
            cols.insert(cols.index("period") + 1, "date")
            rows = [{**r, "date": self.dates.get(r.get("period"))} for r in rows]
        kinds = {c: _kind(c, (r.get(c) for r in rows[:200])) for c in cols}
        units = {}
        if "capacity_unit" in cols:
            found = {r.get("capacity_unit") for r in rows}
            if len(found) == 1:
                units = {c: str(next(iter(found))) for c in cols if kinds[c] == HOURS}
        headers = []
        for c in cols:
            text = HEADERS.get(c) or _humanise(c)
            headers.append(f"{text} ({units[c]})" if c in units else self.label(text, kinds[c]))
        self.header(ws, 1, 1, headers)
        # the data rows are written as XML when the workbook is saved (_TableRows), not as cells:
        # the same values and formats as cells would have, in a fraction of the time
        fmts = [self.fmt(kinds[c]) for c in cols]
        self.wb.table_rows[ws.title] = _TableRows(
            rows=rows, cols=cols, dates=[kinds[c] == DATE for c in cols],
            number_styles=[self.style_id(ws, f) if f and f != "@" else None for f in fmts],
            date_style=self.style_id(ws, DATE_FORMAT))
        last = get_column_letter(len(cols))
        ws.auto_filter.ref = f"A1:{last}{len(rows) + 1}"
        keys = 0
        while keys < len(cols) and cols[keys] in KEY_COLUMNS and keys < 4:
            keys += 1
        ws.freeze_panes = f"{get_column_letter(keys + 1)}2"
        ws.print_title_rows = "1:1"
        for j, c in enumerate(cols):
            ws.column_dimensions[get_column_letter(j + 1)].width = _width(headers[j], kinds[c], [r.get(c) for r in rows[:500]],
                                                                        len(self.currency))
        _print_setup(ws)
        return ws

    def diagnosis_sheet(self, diagnoses: Sequence[tuple[str, Any]]) -> None:
        ws = self.new_sheet("Diagnosis")
        row = 1
        for what, diag in diagnoses:
            if diag:
                self.put(ws, row, 1, f"{what}: diagnosis").font = SECTION_FONT
                row = self._diagnosis_items(ws, row + 1, diag) + 1
        ws.column_dimensions["A"].width = 45
        for c in "BCDEFG":
            ws.column_dimensions[c].width = 22

    def _diagnosis_items(self, ws: Worksheet, row: int, diag: Mapping[str, Any]) -> int:
        """A diagnosis' entries from ``row``: scalars as label and value, lists of records and
        records of records as tables, nested diagnoses (e.g. the solver's) as their own block."""
        def table(records: Sequence[Mapping[str, Any]], first: str | None = None, keys: Sequence[Any] = ()) -> None:
            nonlocal row
            cols = _columns(records)
            self.header(ws, row, 1, ([first] if first else []) + [_humanise(c) for c in cols])
            for k, r in zip(keys or [None] * len(records), records):
                row += 1
                lead = [k] if first else []
                for j, v in enumerate(lead + [r.get(c) for c in cols]):
                    name = "partner" if first and j == 0 else cols[j - len(lead)]
                    self.put(ws, row, 1 + j, v, _kind(name, [v]) if name not in ("period",) else PERIOD)
            row += 1

        for key, value in diag.items():
            if value in (None, [], {}, ""):
                continue
            label = _humanise(key)
            if isinstance(value, list) and all(isinstance(v, dict) for v in value):
                self.put(ws, row, 1, label, bold=True)
                row += 1
                table(value)
            elif isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
                self.put(ws, row, 1, label, bold=True)
                row += 1
                if all(not isinstance(x, (dict, list)) for v in value.values() for x in v.values()):
                    table(list(value.values()), first="Partner" if key == "partners" else "Name", keys=list(value))
                else:  # a nested diagnosis per key
                    for k, v in value.items():
                        self.put(ws, row, 1, str(k), bold=True)
                        row = self._diagnosis_items(ws, row + 1, v)
            elif isinstance(value, dict) and any(isinstance(v, (dict, list)) for v in value.values()):
                self.put(ws, row, 1, label, bold=True)  # e.g. the solver's own diagnosis
                row = self._diagnosis_items(ws, row + 1, value)
            elif isinstance(value, dict):
                self.put(ws, row, 1, label, bold=True)
                row += 1
                for k, v in value.items():
                    self.put(ws, row, 1, str(k))
                    self.put(ws, row, 2, v, _kind(str(k), [v]))
                    row += 1
            else:
                self.put(ws, row, 1, label, bold=True)
                self.put(ws, row, 2, ", ".join(map(str, value)) if isinstance(value, list) else value,
                         _kind(str(key), [value]))
                row += 1
        return row

    # charts ------------------------------------------------------------------------------
    def chart_block(self, title: str, rows: Sequence[Mapping[str, Any]],
                    series: Sequence[tuple[str, str, str]]) -> _Block:
        """Write a chart's series (one row per period, sorted) to the chart-data sheet."""
        if self._chart_data is None:
            self._chart_data = self.wb.create_sheet("Chart data")
            self._chart_data.column_dimensions["A"].width = 14
            for c in "BCDEFGH":
                self._chart_data.column_dimensions[c].width = 22
        ws = self._chart_data
        rows = sorted(rows, key=lambda r: r.get("period", 0))
        r0 = self._chart_row
        self.put(ws, r0, 1, title).font = SECTION_FONT
        has_dates = all(r.get("period") in self.dates for r in rows)
        self.header(ws, r0 + 1, 1, ["Period start" if has_dates else "Period no.",
                                    *[self.label(label, kind) if kind != HOURS else label for label, _, kind in series]])
        for i, r in enumerate(rows):
            self.put(ws, r0 + 2 + i, 1, self.period_value(r.get("period")) if has_dates else r.get("period"), PERIOD)
            for j, (_, key, kind) in enumerate(series):
                v = r.get(key)
                self.put(ws, r0 + 2 + i, 2 + j, v if _finite(v) else None, kind)
        self._chart_row = r0 + 2 + len(rows) + 1
        return _Block(ws, header_row=r0 + 1, first_row=r0 + 2, last_row=r0 + 1 + max(1, len(rows)), cat_col=1,
                      cols={label: 2 + j for j, (label, _, _) in enumerate(series)})

    def combo_chart(self, title: str, block: _Block, kind: str | None, *, y_title: str | None = None,
                    bars: Sequence[tuple[str, str]] = (), lines: Sequence[tuple[str, str, str | None]] = (),
                    stacked: bool = False):
        """Columns (e.g. a gap) and lines (e.g. a balance and its limit) on one value axis."""
        y_title = y_title or self.unit(kind or "") or None
        charts = []
        if bars:
            bar = BarChart()
            bar.type = "col"
            bar.grouping = "stacked" if stacked else "clustered"
            if stacked:
                bar.overlap = 100
            bar.gapWidth = 60
            for label, colour in bars:
                bar.add_data(block.data(label), titles_from_data=True)
                s = bar.series[-1]
                s.graphicalProperties.solidFill = colour
                s.graphicalProperties.line.solidFill = colour
            bar.set_categories(block.categories())
            charts.append(bar)
        if lines:
            line = LineChart()
            for label, colour, dash in lines:
                line.add_data(block.data(label), titles_from_data=True)
                s = line.series[-1]
                s.smooth = False
                s.marker.symbol = "none"
                s.graphicalProperties.line.solidFill = colour
                s.graphicalProperties.line.width = 28575  # 2.25 pt
                if dash:
                    s.graphicalProperties.line.dashStyle = dash
            line.set_categories(block.categories())
            charts.append(line)
        main = charts[0]
        for other in charts[1:]:
            main += other
        main.title = _title(title)
        main.legend.position = "b"
        main.y_axis.title = y_title
        main.y_axis.number_format = "#,##0"
        main.x_axis.number_format = self.axis_date_format
        main.x_axis.title = None
        for ax in (main.x_axis, main.y_axis):
            ax.delete = False
        main.x_axis.tickLblPos = "low"  # dates below the plot, also when values go negative
        return main

    def place_charts(self, ws: Worksheet, groups: Sequence[Sequence[Any]], col: int) -> None:
        """Charts in a grid right of the tables: two a row, each group from a new row."""
        if not any(groups):
            return
        for c in range(col, col + 2 * CHART_COLS):  # a known width, so that the grid does not overlap
            ws.column_dimensions[get_column_letter(c)].width = CHART_COLUMN_WIDTH
        row = 1
        for group in groups:
            for k, chart in enumerate(group):
                c0, r0 = col - 1 + (k % 2) * CHART_COLS, row - 1 + (k // 2) * CHART_ROWS  # 0-based
                chart.anchor = TwoCellAnchor(_from=AnchorMarker(col=c0, row=r0),
                                             to=AnchorMarker(col=c0 + CHART_COLS - 1, row=r0 + CHART_ROWS - 1))
                ws.add_chart(chart)
            if group:
                row += ((len(group) + 1) // 2) * CHART_ROWS

    def finish(self) -> None:
        """The chart data last; the first sheet active."""
        if self._chart_data is not None:
            ws = self._chart_data
            self.wb.move_sheet(ws, offset=len(self.wb.sheetnames) - 1 - self.wb.sheetnames.index(ws.title))
            _print_setup(ws)
        self.wb.active = 0


def kpi_rows(chain: Mapping[str, Any], partners: Mapping[str, Mapping[str, Any]],
             spec: Sequence[tuple[str, str, str]]) -> list[tuple[str, str, list[Any]]]:
    """(label, kind, [chain value, partner values...]) per row of ``spec``: a ``name.*`` key
    expands into one row per sub-key found; rows nobody has are left out; a partner's total cost
    is the sum of its costs. Then any other numeric KPI, so that none is lost."""
    cols = [chain, *partners.values()]
    out: list[tuple[str, str, list[Any]]] = []
    known = set()
    for key, label, kind in spec:
        if key.endswith(".*"):
            group = key[:-2]
            known.add(group)
            subs = list(dict.fromkeys(k for c in cols for k in (c.get(group) or {})))
            for sub in subs:
                vals = [(c.get(group) or {}).get(sub) for c in cols]
                out.append((label.format(_humanise(sub).lower()), kind, vals))
            continue
        known.add(key)
        vals = [c.get(key) for c in cols]
        if key == "total_cost":
            vals = [vals[0]] + [sum((c.get("costs") or {}).values()) if c.get("costs") else None for c in cols[1:]]
        if kind == PERIOD:
            amount_key = PERIOD_OF_AMOUNT.get(key)
            if amount_key:
                vals = [v if _finite(c.get(amount_key)) and abs(c.get(amount_key)) > 1e-9 else None
                        for v, c in zip(vals, cols)]
        if all(v is None for v in vals):
            continue
        out.append((label, kind, vals))
    extra = list(dict.fromkeys(k for c in cols for k, v in c.items() if k not in known and _finite(v)))
    for key in extra:
        out.append((_humanise(key), _kind(key, [c.get(key) for c in cols]), [c.get(key) for c in cols]))
    return out


def _title(text: str, size: int = 1100) -> Title:
    """A chart title in a modest bold font (the default is large enough to crowd out the plot)."""
    props = CharacterProperties(sz=size, b=True)
    para = Paragraph(pPr=ParagraphProperties(defRPr=props), r=[RegularTextRun(rPr=props, t=text)])
    return Title(tx=Text(rich=RichText(p=[para])), overlay=False)


def _diagnosis_message(diag: Any) -> str | None:
    if not diag:
        return None
    if isinstance(diag, dict):
        return diag.get("message") or diag.get("note") or diag.get("method")
    return str(diag)


def _group(rows: Sequence[Mapping[str, Any]], key: str) -> dict[Any, list[Mapping[str, Any]]]:
    out: dict[Any, list[Mapping[str, Any]]] = {}
    for r in rows:
        out.setdefault(r.get(key), []).append(r)
    return out


def _sum_by_period(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    acc: dict[int, dict[str, Any]] = {}
    for r in rows:
        p = r.get("period")
        slot = acc.setdefault(p, {"period": p, **{k: 0.0 for k in keys}})
        for k in keys:
            v = r.get(k)
            if _finite(v):
                slot[k] += v
    return [acc[p] for p in sorted(acc)]


def _width(header: str, kind: str, values: Sequence[Any], currency_len: int) -> float:
    longest = max((len(w) for w in header.split()), default=4)
    head = min(len(header), 28)
    est = 0
    for v in values:
        if v is None or (isinstance(v, float) and not math.isfinite(v)):
            continue
        if kind == DATE or isinstance(v, dt.date):
            n = 10
        elif isinstance(v, bool):
            n = 5
        elif isinstance(v, (int, float)):
            digits = f"{abs(v):,.0f}"
            n = len(digits) + (3 if kind in (MONEY, NUM, RATIO) else 2 if kind in (QTY, DAYS, HOURS, WORKERS) else 0)
            n += 1 if v < 0 else 0
            if kind == MONEY and currency_len:
                n += currency_len + 1
            if kind in (PCT, RATE):
                n = 8
        else:
            n = len(str(v))
        est = max(est, n)
    return float(min(50, max(8, longest + 2, head + 3, est + 2)))


def _print_setup(ws: Worksheet) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
