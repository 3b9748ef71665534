"""The plan workbook (planning/workbook.py), read back with openpyxl: the summary's KPIs per
partner, the table sheets cell by cell and the funding figures equal the plan's and the funding's
JSON; number formats, frozen headers, filters and widths are set; the charts exist and point at
the right cells. In the slow suite, LibreOffice renders the summary sheet and it is not blank."""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import coordinate_from_string

from conftest import example
from finance.extension import plan_with_finance
from finance.sizing import size_plan_funding
from planning import workbook
from planning.plan import json_default, plan_scenario
from planning.workbook import PARTNER_ROWS, TABLE_TITLES, build_workbook, money_format, write_workbook
from scenarios.finance import finance_spec_from_scenario
from scenarios.io import parse_scenario
from workbook_checks import (
    chart_series,
    chart_title,
    check_table_sheet,
    column_of,
    measure_table,
    same,
    series_categories,
    series_title,
    series_values,
)

EUR = "[$EUR] #,##0.00;[Red]-[$EUR] #,##0.00"
PARTNERS = ["maker", "wholesale", "haul", "shops"]


def as_json(obj) -> dict:
    """What ``--out`` writes and the service stores: the dict through JSON."""
    return json.loads(json.dumps(obj.to_dict(), default=json_default))


@pytest.fixture(scope="module")
def sized(tmp_path_factory):
    """small_chain planned, its funding sized after the plan, and the workbook the CLI writes."""
    scenario, _ = parse_scenario(example("small_chain"))
    plan = plan_scenario(scenario)
    funding = size_plan_funding(plan, finance_spec_from_scenario(scenario))
    path = tmp_path_factory.mktemp("wb") / "plan.xlsx"
    plan.write_excel(path, funding=funding)
    return as_json(plan), as_json(funding), openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def joint(tmp_path_factory):
    scenario, _ = parse_scenario(example("small_chain"))
    plan = plan_with_finance(scenario)
    path = tmp_path_factory.mktemp("wb") / "joint.xlsx"
    plan.write_excel(path)
    return as_json(plan), openpyxl.load_workbook(path)


def dates_of(plan: dict) -> dict[int, dt.date]:
    return {r["period"]: dt.date.fromisoformat(r["date"]) for r in plan["tables"]["cash"]}


def rows_of(table: list[dict], **where) -> list[dict]:
    return sorted((r for r in table if all(r.get(k) == v for k, v in where.items())), key=lambda r: r["period"])


# ---------------------------------------------------------------------------------------------
# Summary
# ---------------------------------------------------------------------------------------------


def test_summary_comes_first_with_the_plans_facts(sized):
    plan, funding, wb = sized
    assert wb.sheetnames[0] == "Summary" and wb.active.title == "Summary"
    ws = wb["Summary"]
    assert ws["A1"].value == "Supply-chain plan: small-chain"
    facts = {ws.cell(r, 1).value: ws.cell(r, 2) for r in range(3, 16) if ws.cell(r, 1).value}
    assert facts["Status"].value == plan["status"] == "optimal"
    assert facts["Objective: maximize profit (EUR)"].value == pytest.approx(plan["objective"], rel=1e-12)
    assert facts["Objective: maximize profit (EUR)"].number_format == EUR
    assert facts["Currency"].value == plan["currency"] == "EUR"
    assert facts["First period starts"].value.date() == min(dates_of(plan).values())
    assert facts["First period starts"].number_format == "yyyy-mm-dd"
    assert facts["Periods"].value == 12
    assert facts["Funding"].value == "optimal (sized after the plan)"
    assert facts["Net financing cost (EUR)"].value == pytest.approx(funding["kpis"]["total"]["net_financing_cost"])


def test_summary_kpis_per_partner_equal_the_plan_json(sized):
    plan, _, wb = sized
    table = measure_table(wb["Summary"])
    chain, partners = plan["kpis"]["chain"], plan["kpis"]["partners"]
    assert list(next(iter(table.values()))) == ["Chain", *PARTNERS]
    # a few rows by name, cell by cell
    assert [table["Role"][a].value for a in PARTNERS] == ["manufacturer", "wholesaler", "transporter", "retailer"]
    for label, key in (("Revenue (EUR)", "revenue"), ("Profit (EUR)", "profit")):
        assert same(table[label]["Chain"].value, chain[key])
        for a in PARTNERS:
            assert same(table[label][a].value, partners[a][key]), (label, a)
            assert table[label][a].number_format == EUR
    assert table["Cost: material (EUR)"]["maker"].value == pytest.approx(partners["maker"]["costs"]["material"])
    assert table["Cost: material (EUR)"]["shops"].value is None  # the retailer buys no material
    assert table["Penalty: lost sale penalty (EUR)"]["shops"].value == pytest.approx(
        partners["shops"]["penalties"]["lost_sale_penalty"])
    assert table["Total cost (EUR)"]["Chain"].value == pytest.approx(chain["total_cost"])
    assert table["Total cost (EUR)"]["maker"].value == pytest.approx(sum(partners["maker"]["costs"].values()))
    assert table["Fill rate (on time)"]["Chain"].value == pytest.approx(chain["fill_rate"])
    assert table["Fill rate (on time)"]["Chain"].number_format == "0.0%"
    assert table["Demand (units)"]["Chain"].value == pytest.approx(chain["demand"])
    assert table["Demand (units)"]["Chain"].number_format == "#,##0.0"
    # periods as their start date, blank where the peak they date is nothing
    dates = dates_of(plan)
    gap = table["Peak funding gap: period"]
    assert partners["maker"]["peak_funding_gap"] > 0
    assert gap["maker"].value.date() == dates[partners["maker"]["peak_funding_gap_period"]]
    assert gap["maker"].is_date and gap["maker"].number_format == "yyyy-mm-dd"
    assert gap["shops"].value is None and partners["shops"]["peak_funding_gap"] == 0
    wc = table["Peak working capital: period"]
    assert [wc[a].value.date() for a in PARTNERS] == [dates[partners[a]["peak_working_capital_period"]] for a in PARTNERS]
    # every scalar KPI of every partner and of the chain is in the table, in its column
    for key, label, kind in PARTNER_ROWS:
        if key.endswith(".*") or kind == "period":
            continue
        unit = {"money": " (EUR)", "qty": " (units)", "unit_periods": " (unit-periods)"}.get(kind, "")
        for col, k in [("Chain", chain), *[(a, partners[a]) for a in PARTNERS]]:
            if key in k and key != "total_cost":
                assert same(table[label + unit][col].value, k[key]), (label, col)
    for group, label in (("costs", "Cost: {} (EUR)"), ("penalties", "Penalty: {} (EUR)")):
        for col, k in [("Chain", chain), *[(a, partners[a]) for a in PARTNERS]]:
            for sub, v in k[group].items():
                assert same(table[label.format(sub.replace("_", " "))][col].value, v), (group, sub, col)


def test_summary_charts_plot_cash_inventory_and_capacity_from_the_right_cells(sized):
    plan, _, wb = sized
    ws = wb["Summary"]
    charts = {chart_title(c): c for c in ws._charts}
    dates = [dt.datetime.combine(d, dt.time()) for _, d in sorted(dates_of(plan).items())]
    # one cash chart per partner, one inventory chart per site holding stock, one capacity chart per plant
    assert len(charts) == len(PARTNERS) + 3 + 1, list(charts)
    for a in PARTNERS:
        chart = charts[f"{a}: closing cash against minimum, funding gap as columns"]
        rows = rows_of(plan["tables"]["cash"], partner=a)
        got = {series_title(wb, s): (kind, s) for kind, s, _ in chart_series(chart)}
        assert set(got) == {"Funding gap (EUR)", "Closing cash (EUR)", "Minimum cash (EUR)"}
        assert got["Funding gap (EUR)"][0] == "bar" and got["Closing cash (EUR)"][0] == "line"
        for title, key in (("Funding gap (EUR)", "funding_gap"), ("Closing cash (EUR)", "closing_cash"),
                           ("Minimum cash (EUR)", "min_cash")):
            s = got[title][1]
            assert series_values(wb, s) == pytest.approx([r[key] for r in rows]), (a, title)
            assert series_categories(wb, s) == dates
            assert s.val.numRef.f.startswith("'Chart data'!")
    inventory = plan["tables"]["inventory"]
    for site in ("dc", "store-north", "store-south"):
        chart = charts[f"{site}: inventory against safety stock (units, all products)"]
        got = {series_title(wb, s): s for _, s, _ in chart_series(chart)}
        for title, key in (("Inventory (units)", "inventory"), ("Safety stock (units)", "safety_stock")):
            want = [sum(r[key] for r in inventory if r["site"] == site and r["period"] == t) for t in range(12)]
            assert series_values(wb, got[title]) == pytest.approx(want), (site, title)
    assert not any(t.startswith("plant: inventory") for t in charts)  # the plant ships all it makes
    chart = charts["plant: production against capacity (hours)"]
    got = {series_title(wb, s): s for _, s, _ in chart_series(chart)}
    cap = rows_of(plan["tables"]["capacity"], site="plant")
    assert series_values(wb, got["Capacity used"]) == pytest.approx([r["capacity_used"] for r in cap])
    assert series_values(wb, got["Regular capacity"]) == pytest.approx([r["regular_capacity"] for r in cap])
    # the charts sit right of the KPI table, none on top of another
    table_cols = 1 + 1 + len(PARTNERS)
    corners = [(c.anchor._from.col, c.anchor._from.row) for c in ws._charts]
    assert min(col for col, _ in corners) >= table_cols and len(set(corners)) == len(corners)
    assert all(c.anchor.to.col > c.anchor._from.col and c.anchor.to.row > c.anchor._from.row for c in ws._charts)
    assert wb.sheetnames[-1] == "Chart data"


# ---------------------------------------------------------------------------------------------
# Table sheets
# ---------------------------------------------------------------------------------------------


def test_table_sheets_equal_the_plan_json_cell_by_cell(sized):
    plan, _, wb = sized
    names = [TABLE_TITLES[t] for t in plan["tables"]]
    assert wb.sheetnames[4:4 + len(names)] == names
    for name in ("production", "capacity", "inventory", "sales", "cash", "working_capital", "cash_flows"):
        check_table_sheet(wb[TABLE_TITLES[name]], plan["tables"][name])
    check_table_sheet(wb["Binding limits"], plan["binding_limits"])


def test_table_sheets_have_formats_frozen_headers_filters_and_widths(sized):
    plan, _, wb = sized
    cash = wb["Cash"]
    assert [cash.cell(1, c).value for c in range(1, 5)] == ["Partner", "Period no.", "Period start", "Opening cash (EUR)"]
    date = cash.cell(2, column_of(cash, "Period start"))
    assert date.is_date and date.number_format == "yyyy-mm-dd" and date.value.time() == dt.time(0, 0)
    assert cash.cell(2, column_of(cash, "Closing cash (EUR)")).number_format == EUR
    assert cash.cell(2, column_of(cash, "Period no.")).number_format == "0"
    prod = wb["Production"]
    assert prod.cell(1, column_of(prod, "Production (units)")).value == "Production (units)"
    assert prod.cell(2, column_of(prod, "Production (units)")).number_format == "#,##0.0"
    assert wb["Capacity"].cell(1, column_of(wb["Capacity"], "Capacity used")).value == "Capacity used (hours)"
    assert prod.freeze_panes == "E2"  # header row, and site, product, period, date
    assert cash.freeze_panes == "D2"
    for name in [TABLE_TITLES[t] for t in plan["tables"]] + ["Funding cash", "Funding instruments"]:
        ws = wb[name]
        assert coordinate_from_string(ws.freeze_panes)[1] == 2, name  # the header row frozen
        assert ws.auto_filter.ref == f"A1:{get_column_letter(ws.max_column)}{ws.max_row}", name
        assert ws.print_title_rows == "$1:$1"
        for c in range(1, ws.max_column + 1):
            width = ws.column_dimensions[get_column_letter(c)].width
            assert width >= 8 and width >= max(len(w) for w in str(ws.cell(1, c).value).split()) + 2, (name, c)
    # a money column is wide enough for its largest amount in its format
    col = column_of(cash, "Closing cash (EUR)")
    biggest = max(abs(r["closing_cash"]) for r in plan["tables"]["cash"])
    assert cash.column_dimensions[get_column_letter(col)].width >= len(f"EUR -{biggest:,.2f}")


# ---------------------------------------------------------------------------------------------
# Funding
# ---------------------------------------------------------------------------------------------


def test_funding_sheets_equal_the_funding_json(sized):
    plan, funding, wb = sized
    assert wb.sheetnames[1:4] == ["Funding", "Funding cash", "Funding instruments"]
    ws = wb["Funding"]
    table = measure_table(ws)
    kp = funding["kpis"]["partners"]
    assert list(next(iter(table.values()))) == ["Chain total", *PARTNERS]  # in the plan's order
    dates = dates_of(plan)
    maker = kp["maker"]
    assert table["Peak funding need (EUR)"]["maker"].value == pytest.approx(maker["peak_funding_need"])
    assert table["Peak funding need (EUR)"]["maker"].number_format == EUR
    assert table["Peak funding need: period"]["maker"].value.date() == dates[maker["peak_funding_need_period"]]
    assert table["Peak funding need: period"]["shops"].value is None  # no need, no period
    assert table["Net financing cost (EUR)"]["Chain total"].value == pytest.approx(
        funding["kpis"]["total"]["net_financing_cost"])
    ear = table["Effective annual rate"]["maker"]
    assert ear.value == pytest.approx(maker["effective_annual_rate"]) and ear.number_format == "0.00%"
    assert table["Effective annual rate"]["haul"].value is None  # no debt, no rate
    for label, key in (("DSO: days sales outstanding (days)", "days_sales_outstanding"),
                       ("DIO: days inventory outstanding (days)", "days_inventory_outstanding"),
                       ("DPO: days payables outstanding (days)", "days_payables_outstanding"),
                       ("CCC: cash conversion cycle (days)", "cash_conversion_cycle_days"),
                       ("Least cash above the minimum (EUR)", "min_cash_headroom"),
                       ("Peak debt (EUR)", "peak_debt")):
        for a in PARTNERS:
            assert same(table[label][a].value, kp[a][key]), (label, a)
    assert [table["Funded"][a].value for a in PARTNERS] == ["yes"] * 4
    # the instrument mix
    top = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Partner")
    mix = {}
    for r in range(top + 1, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            break
        mix[ws.cell(r, 1).value, ws.cell(r, 2).value] = [ws.cell(r, c).value for c in range(4, 12)]
    want = {(a, n): i for a in PARTNERS for n, i in kp[a]["instruments"].items()}
    assert set(mix) == set(want)
    for key, values in mix.items():
        i = want[key]
        assert values[:4] == pytest.approx([i["drawn"], i["repaid"], i["peak_balance"], i["ending_balance"]]), key
    # the per-period tables, cell by cell (the instruments get their period's date)
    check_table_sheet(wb["Funding cash"], funding["tables"]["cash"])
    check_table_sheet(wb["Funding instruments"], funding["tables"]["instruments"], dates)
    inst = wb["Funding instruments"]
    assert inst.cell(2, column_of(inst, "Availability (EUR)")).number_format == EUR
    assert inst.cell(1, column_of(inst, "Collateral coverage")).value == "Collateral coverage"


def test_funding_charts_plot_cash_balances_and_headroom(sized):
    plan, funding, wb = sized
    charts = {chart_title(c): c for c in wb["Funding"]._charts}
    cash = funding["tables"]["cash"]
    inst = funding["tables"]["instruments"]
    for a in PARTNERS:
        chart = charts[f"{a}: cash before and after financing against minimum"]
        got = {series_title(wb, s): s for _, s, _ in chart_series(chart)}
        rows = rows_of(cash, partner=a)
        assert series_values(wb, got["Cash before financing (EUR)"]) == pytest.approx([r["cash_before_financing"] for r in rows])
        assert series_values(wb, got["Cash after financing (EUR)"]) == pytest.approx([r["closing_cash"] for r in rows])
        assert series_values(wb, got["Shortfall (unfunded) (EUR)"]) == pytest.approx([r["shortfall"] for r in rows])
    # the maker's drawn instruments, stacked
    chart = charts["maker: instrument balances at period end"]
    drawn = {n for n, i in funding["kpis"]["partners"]["maker"]["instruments"].items() if i["peak_balance"] > 0}
    parts = chart_series(chart)
    assert {series_title(wb, s) for _, s, _ in parts} == {f"{n} (EUR)" for n in drawn}
    assert all(kind == "bar" and part.grouping == "stacked" for kind, _, part in parts)
    for _, s, _ in parts:
        n = series_title(wb, s).removesuffix(" (EUR)")
        assert series_values(wb, s) == pytest.approx([r["closing_balance"] for r in rows_of(inst, partner="maker", instrument=n)])
    # drawn against availability for each limited instrument: the borrowing base's headroom
    limited = sorted({r["instrument"] for r in inst if r["availability"] is not None})
    assert limited and "abl" in limited
    for n in limited:
        rows = rows_of(inst, partner="maker", instrument=n)
        kind = rows[0]["type"].replace("_", " ")
        got = {series_title(wb, s): s for _, s, _ in chart_series(charts[f"maker {n} ({kind}): drawn against availability"])}
        assert series_values(wb, got["Availability (EUR)"]) == pytest.approx([r["availability"] for r in rows])
        assert series_values(wb, got["Headroom (EUR)"]) == pytest.approx([r["headroom"] for r in rows])
        assert series_values(wb, got["Drawn (EUR)"]) == pytest.approx([r["closing_balance"] for r in rows])


def test_a_joint_plan_carries_its_funding(joint):
    plan, wb = joint
    assert plan["kpis"]["finance"] and wb.sheetnames[:4] == ["Summary", "Funding", "Funding cash", "Funding instruments"]
    assert not any(n.lower().startswith("funding_") or n == "Funding partners" for n in wb.sheetnames)
    ws = wb["Funding"]
    facts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(3, 12)}
    assert facts["Funding"] == "chosen with the plan (joint planning)"
    table = measure_table(ws)
    fin = plan["kpis"]["finance"]["partners"]
    for a in PARTNERS:
        assert same(table["Peak funding need (EUR)"][a].value, fin[a]["peak_funding_need"])
        assert same(table["Net financing cost (EUR)"][a].value, fin[a]["net_financing_cost"])
    check_table_sheet(wb["Funding cash"], plan["tables"]["funding_cash"])
    summary = measure_table(wb["Summary"])
    assert summary["Profit adjustment: finance (EUR)"]["Chain"].value == pytest.approx(
        plan["kpis"]["chain"]["extensions"]["finance"])


# ---------------------------------------------------------------------------------------------
# Currency, no solution
# ---------------------------------------------------------------------------------------------


def test_the_scenarios_currency_formats_the_amounts(sized):
    plan, _, _ = sized
    usd = build_workbook({**plan, "currency": "USD"})
    table = measure_table(usd["Summary"])
    assert table["Profit (USD)"]["maker"].number_format == money_format("USD") == "[$USD] #,##0.00;[Red]-[$USD] #,##0.00"
    assert usd["Cash"].cell(1, column_of(usd["Cash"], "Closing cash")).value == "Closing cash (USD)"
    bare = build_workbook({**plan, "currency": ""})
    assert measure_table(bare["Summary"])["Profit (currency)"]["maker"].number_format == "#,##0.00;[Red]-#,##0.00"
    assert "Funding" not in usd.sheetnames  # a plan without funding has no funding sheets


def test_a_plan_without_a_solution_shows_its_diagnosis(tmp_path):
    data = example("small_chain")
    data["sites"][1]["products"][0]["ending_inventory"] = 1_000_000  # the DC holds at most 8,000
    scenario, _ = parse_scenario(copy.deepcopy(data))
    plan = plan_scenario(scenario)
    assert plan.status == "infeasible"
    path = tmp_path / "none.xlsx"
    plan.write_excel(path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["Summary", "Diagnosis"]
    ws = wb["Summary"]
    facts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(3, 12)}
    assert facts["Status"] == "infeasible" and facts["Diagnosis"] == plan.diagnosis["note"]
    assert not ws._charts
    diag = wb["Diagnosis"]
    cells = [c.value for row in diag.iter_rows() for c in row]
    assert "ending_inventory[dc,widget]" in cells
    top = cells.index("ending_inventory[dc,widget]")
    assert cells[top + 1] == pytest.approx(plan.diagnosis["relaxation"][
        [r["constraint"] for r in plan.diagnosis["relaxation"]].index("ending_inventory[dc,widget]")]["violation"])


def test_a_joint_plan_that_cannot_be_funded_shows_who_is_short(tmp_path):
    data = example("small_chain")
    data["finance"] = {"partners": [{"partner": "maker", "instruments": [
        {"id": "rcf", "type": "revolver", "limit": 5000, "rate": 0.01}]}]}
    scenario, _ = parse_scenario(data)
    plan = plan_with_finance(scenario)
    assert plan.status == "infeasible"
    path = tmp_path / "short.xlsx"
    plan.write_excel(path)
    result = as_json(plan)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[:4] == ["Summary", "Funding", "Funding cash", "Funding instruments"]
    assert "Diagnosis" in wb.sheetnames
    ws = wb["Summary"]
    facts = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(3, 16)}
    assert facts["Status"] == "infeasible" and facts["Diagnosis"] == plan.diagnosis["message"]
    assert "maker is short" in facts["Diagnosis"]
    table = measure_table(wb["Funding"])
    peak = plan.diagnosis["partners"]["maker"]["peak"]
    assert table["Peak shortfall (unfunded) (EUR)"]["maker"].value == pytest.approx(peak)
    assert table["Funded"]["maker"].value == "no"
    # the best-effort shortfall as the red columns of the maker's funding chart
    chart = next(c for c in wb["Funding"]._charts if chart_title(c).startswith("maker: cash before"))
    got = {series_title(wb, s): s for _, s, _ in chart_series(chart)}
    shortfall = [r["shortfall"] for r in rows_of(result["tables"]["funding_cash"], partner="maker")]
    assert max(shortfall) == pytest.approx(peak)
    assert series_values(wb, got["Shortfall (unfunded) (EUR)"]) == pytest.approx(shortfall)
    cells = [c.value for row in wb["Diagnosis"].iter_rows() for c in row]
    assert "minimum_cash[maker,1]" in cells


def test_table_cells_of_every_kind_read_back(tmp_path, monkeypatch):
    """A table sheet's rows are written as XML, not as openpyxl cells: every kind of value a
    plan's rows may hold reads back as the cell openpyxl would have made of it (here in chunks
    of three rows, as a large table is written)."""
    monkeypatch.setattr(workbook, "TABLE_CHUNK_ROWS", 3)
    rows = [
        {"site": "a & <b>", "period": 0, "date": "2027-01-04", "amount": 1234.5, "mixed": 1, "flag": True,
         "when": dt.date(2027, 2, 1), "note": "  padded "},
        {"site": "plain", "period": 1, "date": "not a date", "amount": float("nan"), "mixed": "text",
         "flag": np.bool_(False), "when": None, "note": ""},
        {"site": None, "period": np.int64(2), "date": None, "amount": float("-inf"), "mixed": 2.5,
         "flag": None, "when": dt.date(2027, 3, 1), "note": [1, 2]},
        {"site": "last", "period": 3, "date": dt.date(2027, 1, 25), "amount": np.float64(-7.25), "mixed": None,
         "flag": False, "when": None, "note": {}},
        {"site": "short", "period": 4},  # a row without some of the columns
    ]
    path = tmp_path / "odd.xlsx"
    write_workbook(path, {"scenario": "odd", "status": "optimal", "currency": "EUR", "tables": {"odd": rows}})
    ws = openpyxl.load_workbook(path)["Odd"]
    want = [
        ["a & <b>", 0, dt.datetime(2027, 1, 4), 1234.5, 1, True, dt.datetime(2027, 2, 1), "  padded "],
        ["plain", 1, None, None, "text", False, None, None],
        [None, 2, None, None, 2.5, None, dt.datetime(2027, 3, 1), "[1, 2]"],
        ["last", 3, dt.datetime(2027, 1, 25), -7.25, None, False, None, None],
        ["short", 4, None, None, None, None, None, None],
    ]
    got = [[c.value for c in row] for row in ws.iter_rows(min_row=2)]
    assert got == want
    assert [type(v) for v in got[0][4:6]] == [int, bool]
    formats = {ws.cell(1, c).value: ws.cell(2, c).number_format for c in range(1, ws.max_column + 1)}
    assert formats["Period no."] == "0" and formats["Period start"] == "yyyy-mm-dd"
    assert formats["Amount (+ in, - out) (EUR)"] == EUR and ws.cell(5, 4).number_format == EUR
    assert formats["Mixed"] == "#,##0" and ws.cell(4, 5).number_format == "#,##0"  # an int column, a float in it
    assert formats["Flag"] == "General" and formats["When"] == "yyyy-mm-dd" and formats["Site"] == "General"
    # the sheet's dimension covers the rows (a read-only load reads it rather than the cells)
    lazy = openpyxl.load_workbook(path, read_only=True)["Odd"]
    assert (lazy.max_row, lazy.max_column) == (6, 8)
    assert ws.freeze_panes == "D2" and ws.auto_filter.ref == "A1:H6"


def test_a_workbook_needs_a_plan_or_funding():
    with pytest.raises(ValueError):
        build_workbook(None, None)


# ---------------------------------------------------------------------------------------------
# Rendering (slow): LibreOffice draws the summary sheet
# ---------------------------------------------------------------------------------------------


def _read_ppm(path: Path) -> np.ndarray:
    """A binary PPM (P6, 8-bit) as an (h, w, 3) array."""
    data = path.read_bytes()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    magic, w, h, maxval = fields[0], int(fields[1]), int(fields[2]), int(fields[3])
    assert magic == b"P6" and maxval == 255, (magic, maxval)
    return np.frombuffer(data[pos + 1:pos + 1 + w * h * 3], dtype=np.uint8).reshape(h, w, 3)


@pytest.mark.slow
def test_libreoffice_renders_the_summary_sheet_not_blank(sized, tmp_path):
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    pdftoppm, pdftotext = shutil.which("pdftoppm"), shutil.which("pdftotext")
    if not (soffice and pdftoppm and pdftotext):
        pytest.skip("needs LibreOffice and poppler-utils (apt-get install libreoffice-calc poppler-utils; .ci/run does)")
    plan, funding, _ = sized
    book = tmp_path / "plan.xlsx"
    write_workbook(book, plan, {**funding, "mode": "sized"})
    profile = tmp_path / "lo-profile"  # a profile of its own: other soffice processes may be running
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(book)], check=True, capture_output=True, timeout=240)
    pdf = tmp_path / "plan.pdf"
    assert pdf.exists()
    subprocess.run([pdftoppm, "-f", "1", "-l", "1", "-r", "60", str(pdf), str(tmp_path / "page")], check=True)
    image = _read_ppm(next(tmp_path.glob("page*.ppm")))
    rgb = image.astype(int)
    ink = (rgb.min(axis=2) < 200).mean()  # not white
    # the charts' red, blue and orange: about 1 % of the page (0.06 % without charts: red negatives)
    colour = ((rgb.max(axis=2) - rgb.min(axis=2)) > 80).mean()
    assert ink > 0.01, f"the summary page is almost blank: {ink:.2%} ink"
    assert colour > 0.004, f"no chart colour on the summary page: {colour:.3%}"
    # and page 1 is the summary sheet: its title and KPI table
    text = subprocess.run([pdftotext, "-f", "1", "-l", "1", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "Supply-chain plan: small-chain" in text and "KPIs per partner" in text and "Profit (EUR)" in text
    assert "maker: closing cash against minimum" in text  # a chart's title, drawn by LibreOffice


@pytest.mark.slow
def test_libreoffice_reads_every_table_row(sized, tmp_path):
    """The table sheets' rows (written as sheet XML, not by openpyxl) as LibreOffice reads them:
    every sheet exported to CSV (unformatted values) equals the plan JSON's rows."""
    import csv

    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        pytest.skip("needs LibreOffice (apt-get install libreoffice-calc; .ci/run does)")
    plan, funding, _ = sized
    book = tmp_path / "plan.xlsx"
    write_workbook(book, plan, {**funding, "mode": "sized"})
    profile = tmp_path / "lo-profile"
    # CSV options: comma, double quote, UTF-8, from line 1, ..., values not as shown, every sheet to its own file
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to",
                    "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
                    "--outdir", str(tmp_path), str(book)], check=True, capture_output=True, timeout=240)
    tables = {TABLE_TITLES[n]: rows for n, rows in plan["tables"].items()} | {"Binding limits": plan["binding_limits"]}
    for title, rows in tables.items():
        with open(tmp_path / f"plan-{title}.csv", newline="", encoding="utf-8") as f:
            lines = list(csv.reader(f))
        assert len(lines) == len(rows) + 1, (title, len(lines), len(rows))
        cols = list(rows[0])
        for line, row in zip(lines[1:], rows):
            assert len(line) <= len(cols), (title, line)
            for text, key in zip(line + [""] * (len(cols) - len(line)), cols):
                want = row[key]
                if want is None or (isinstance(want, float) and not np.isfinite(want)):
                    assert text == "", (title, key, text)
                elif isinstance(want, (int, float)) and not isinstance(want, bool):
                    assert float(text) == pytest.approx(want, rel=1e-9, abs=1e-9), (title, key, text, want)
                else:
                    assert text == str(want), (title, key, text, want)
