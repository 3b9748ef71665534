"""Funding a plan: cash conservation, the instruments' mechanics (computed by hand in each test),
diagnosis of plans that cannot be funded, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from finance.cashflows import cashflows_from_plan, make_cashflow_table
from finance.sizing import SIZING_CONSTRAINT_FAMILIES, size_funding
from scenarios.finance import load_finance_spec, parse_finance_spec

FIN = Path(__file__).parent / "instances" / "finance"
DEBT_TYPES = {"revolver", "asset_based", "inventory_loan", "factoring", "reverse_factoring", "fixed_tenor"}


def assert_conserved(res, tol: float = 1e-6) -> None:
    """For every partner and period, recomputed from the output tables:
    opening + operating + financing inflows - outflows - interest - fees + deposit interest
    (+ money found outside the instruments, in a diagnosis) = closing; the opening cash is the
    previous closing; the per-instrument table adds up to the cash table; every balance rolls
    forward (closing = opening + inflow - outflow); minimum cash holds."""
    c = res.tables["cash"]
    lhs = (
        c["opening_cash"] + c["operating_cash_flow"] + c["financing_inflows"] - c["financing_outflows"]
        - c["interest"] - c["fees"] + c["deposit_interest"] + c["unfunded_cover"]
    )
    assert (lhs - c["closing_cash"]).abs().max() < tol
    for _, g in c.groupby("partner"):
        g = g.sort_values("period")
        assert np.allclose(g["opening_cash"].to_numpy()[1:], g["closing_cash"].to_numpy()[:-1], atol=tol, rtol=0)
    inst = res.tables["instruments"]
    if len(inst):
        sums = inst.groupby(["partner", "period"])[["inflow", "outflow", "interest", "fees"]].sum()
        merged = c.set_index(["partner", "period"]).join(sums, how="left", rsuffix="_inst").fillna(0.0)
        for a, b in (("financing_inflows", "inflow"), ("financing_outflows", "outflow"),
                     ("interest", "interest_inst"), ("fees", "fees_inst")):
            assert (merged[a] - merged[b]).abs().max() < tol
        debt = inst[inst["type"].isin(DEBT_TYPES)]
        roll = debt["opening_balance"] + debt["inflow"] - debt["outflow"] - debt["closing_balance"]
        assert len(debt) == 0 or roll.abs().max() < tol
        for _, g in debt.groupby(["partner", "instrument"]):
            g = g.sort_values("period")
            assert np.allclose(g["opening_balance"].to_numpy()[1:], g["closing_balance"].to_numpy()[:-1], atol=tol, rtol=0)
        assert (debt["closing_balance"] >= -tol).all()
        assert (debt["headroom"].dropna() >= -1e-5).all()
    short = c["shortfall"] > tol
    assert (c.loc[~short, "closing_cash"] >= c.loc[~short, "min_cash"] - tol).all()


def _table(flows: dict, **kwargs):
    return make_cashflow_table(pd.DataFrame(flows), periods_per_year=12, **kwargs)


def _spec(partner: str, instruments: list, **extra):
    return parse_finance_spec({"partners": [{"partner": partner, "opening_cash": 0, "instruments": instruments, **extra}]})


# ---------------------------------------------------------------------------------------------
# The bundled plan
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_table(small_chain_plan):
    _, plan = small_chain_plan
    return plan, cashflows_from_plan(plan)


def test_cashflows_from_plan_match_the_plan(plan_table):
    """The table read from a plan: operating cash flow + the plan's own funding-gap charge is the
    plan's cash movement; receivables are the plan's open invoices (plus pre-horizon ones)."""
    plan, table = plan_table
    assert table.T == 12 and table.periods_per_year == 12
    assert set(table.partners) == {"maker", "wholesale", "haul", "shops"}
    cash = plan.tables["cash"]
    flows = plan.tables["cash_flows"]
    gap = flows[flows["kind"] == "funding_gap_cost"].groupby(["partner", "period_settled"])["amount"].sum()
    for r in cash.itertuples(index=False):
        op = table.flows[(table.flows["partner"] == r.partner) & (table.flows["period"] == r.period)]["operating_cash_flow"].iloc[0]
        assert op + gap.get((r.partner, r.period), 0.0) == pytest.approx(r.inflows - r.outflows, abs=1e-6)
    wc = plan.tables["working_capital"].set_index(["partner", "period"])
    for r in table.flows.itertuples(index=False):
        assert r.receivables >= wc.loc[(r.partner, r.period), "receivables"] - 1e-6
        assert r.inventory == pytest.approx(wc.loc[(r.partner, r.period), "inventory_value"])
    assert table.customers_of("maker") == ["wholesale"]
    # written plan.json gives the same table
    d = plan.to_dict()
    again = cashflows_from_plan(json.loads(json.dumps(d, default=str)))
    pd.testing.assert_frame_equal(again.flows.drop(columns="date"), table.flows.drop(columns="date"))


def test_plan_without_instruments_is_short_by_its_funding_need(plan_table):
    """No instruments, no deposit interest: the diagnosis's shortfall per period is exactly
    max(0, min cash - cash before financing), and names only the maker (periods 0-2)."""
    _, table = plan_table
    res = size_funding(table)
    assert res.status == "infeasible"
    c = res.tables["cash"]
    need = (c["min_cash"] - c["cash_before_financing"]).clip(lower=0.0)
    assert np.allclose(c["shortfall"], need, atol=1e-6)
    assert set(res.diagnosis["partners"]) == {"maker"}
    assert res.diagnosis["partners"]["maker"]["first_period"] == 0
    assert res.diagnosis["partners"]["maker"]["peak_period"] == 1
    assert res.kpis["partners"]["maker"]["peak_funding_need"] == pytest.approx(need.max())
    assert_conserved(res)


def test_plan_funded_with_every_instrument(plan_table, tmp_path):
    """The small chain with revolvers, an asset-based line, a buyer's reverse-factoring programme,
    platform loans, an inventory loan, factoring and an early-payment discount: funded, cash
    conserved to 1e-6 for every partner and period, and written as JSON and a workbook."""
    _, table = plan_table
    spec = load_finance_spec(FIN / "small_chain_finance.yaml")
    res = size_funding(table, spec)
    assert res.status == "optimal"
    assert res.diagnosis is None
    assert_conserved(res)
    k = res.kpis["partners"]
    assert all(p["funded"] for p in k.values())
    assert k["maker"]["peak_funding_need"] > 80_000 and k["maker"]["peak_funding_need_period"] == 1
    assert k["maker"]["financing_cost"] > 0
    for a in k:
        assert k[a]["cash_conversion_cycle_days"] is not None
    inst = res.tables["instruments"]
    # the reverse-factoring programme and its limit
    scf = inst[inst["instrument"] == "buyer_scf"]
    assert scf["closing_balance"].max() <= 40_000 + 1e-6
    # an early payment by the wholesaler moves the maker's cash the other way
    paid = inst[(inst["instrument"] == "maker_terms")]
    got = inst[(inst["instrument"] == "maker_terms@wholesale")]
    assert got["partner"].unique().tolist() == ["maker"]
    assert paid["discount_taken"].sum() == pytest.approx(got["discount_given"].sum())
    assert np.allclose(paid["outflow"].to_numpy(), got["inflow"].to_numpy())
    # outputs
    res.write_json(tmp_path / "funding.json")
    data = json.loads((tmp_path / "funding.json").read_text())
    assert data["status"] == "optimal" and set(data["tables"]) == {"partners", "cash", "instruments"}
    res.write_excel(tmp_path / "funding.xlsx")
    sheets = pd.read_excel(tmp_path / "funding.xlsx", sheet_name=None)
    # funding alone: the funding summary first (KPIs per partner, instrument mix, charts), then its tables
    assert list(sheets)[:3] == ["Funding", "Funding cash", "Funding instruments"]
    assert len(sheets["Funding instruments"]) == len(inst)


def test_constraint_families_have_stable_names(plan_table):
    from finance.sizing import build_sizing_model, prepare
    from scenarios.finance import FundingObjective

    _, table = plan_table
    s = prepare(load_finance_spec(FIN / "small_chain_finance.yaml"), table)
    m, _ = build_sizing_model(s, FundingObjective.min_cost)
    names = {c.parent_component().local_name for c in m.component_data_objects(__import__("pyomo.environ").environ.Constraint)}
    assert names <= set(SIZING_CONSTRAINT_FAMILIES)
    assert {"cash_balance", "minimum_cash", "borrowing_base", "factoring_pool", "inventory_pledge"} <= names
    assert m.finance.borrowing_base["maker", "abl", 3].name == "finance.borrowing_base[maker,abl,3]"


# ---------------------------------------------------------------------------------------------
# Instruments, by hand
# ---------------------------------------------------------------------------------------------


def test_factoring_cash_by_hand():
    """Receivables 10,000 at each period end, the book turns over every period. The partner needs
    7,000 in period 0. Factor: advance 80 %, fee 0.5 % of face, discount 1 % a period on the
    advance. Selling face x gives 0.8x - 0.005x = 0.795x = 7,000 -> x = 8,805.03; in period 1 the
    customers pay the factor, the seller gives up 0.8x = 7,044.03 and pays 1 % x 7,044.03 = 70.44:
    cost 44.03 + 70.44 = 114.47; ending cash 10,000 - 7,000 - 114.47 = 2,885.53."""
    table = _table({"partner": "s", "period": [0, 1], "operating_cash_flow": [-7_000.0, 10_000.0],
                    "receivables": [10_000.0, 10_000.0]})
    spec = _spec("s", [{"id": "f", "type": "factoring", "advance_rate": 0.8, "fee": 0.005, "discount_rate": 0.01}])
    res = size_funding(table, spec)
    assert res.status == "optimal"
    x = 7_000 / 0.795
    f = res.tables["instruments"].set_index("period")
    assert f.loc[0, "face_sold"] == pytest.approx(x, abs=1e-6)
    assert f.loc[0, "inflow"] == pytest.approx(0.8 * x, abs=1e-6)
    assert f.loc[0, "fees"] == pytest.approx(0.005 * x, abs=1e-6)
    assert f.loc[1, "outflow"] == pytest.approx(0.8 * x, abs=1e-6)
    assert f.loc[1, "interest"] == pytest.approx(0.01 * 0.8 * x, abs=1e-6)
    k = res.kpis["partners"]["s"]
    assert k["financing_cost"] == pytest.approx(114.47, abs=0.005)
    assert k["ending_cash"] == pytest.approx(3_000 - 0.005 * x - 0.008 * x, abs=1e-6)
    assert k["ending_debt"] == pytest.approx(0.0, abs=1e-9)
    assert_conserved(res)


def test_reverse_factoring_only_on_the_buyers_invoices():
    """A supplier owed 30,000 by 'bigmart' and 20,000 by 'corner' (each period). Bigmart's
    programme pays its invoices early at bigmart's rate 0.5 % a period (advance 100 %); the
    supplier needs 45,000 in period 0 and has nothing else: it can raise only bigmart's 30,000
    and is 15,000 short. Bigmart's own cash is not touched."""
    rec = pd.DataFrame(
        [{"partner": "sup", "period": t, "customer": c, "age_days": 30, "amount": a}
         for t in (0, 1) for c, a in (("bigmart", 30_000.0), ("corner", 20_000.0))]
    )
    flows = {"partner": ["sup", "sup", "bigmart", "bigmart"], "period": [0, 1, 0, 1],
             "operating_cash_flow": [-45_000.0, 60_000.0, 0.0, 0.0]}
    table = _table(flows, receivables=rec)
    spec = parse_finance_spec({"partners": [
        {"partner": "sup", "opening_cash": 0, "instruments": [
            {"id": "scf", "type": "reverse_factoring", "buyer": "bigmart", "rate": 0.005}]},
        {"partner": "bigmart", "opening_cash": 0},
    ]})
    res = size_funding(table, spec)
    assert res.status == "infeasible"
    assert res.diagnosis["shortfalls"] == [{"partner": "sup", "period": 0, "amount": pytest.approx(15_000.0, abs=1e-5)}]
    scf = res.tables["instruments"].set_index("period")
    assert scf.loc[0, "closing_balance"] == pytest.approx(30_000.0, abs=1e-5)
    assert scf.loc[1, "interest"] == pytest.approx(150.0, abs=1e-6)
    cash = res.tables["cash"]
    assert cash.loc[cash["partner"] == "bigmart", "closing_cash"].abs().max() < 1e-9
    assert_conserved(res)


def test_inventory_is_not_pledged_twice():
    """Inventory at cost 100,000; an inventory loan at 60 % loan-to-value and an asset-based line
    at 50 % of inventory. Pledging p to the loan gives 0.6 p + 0.5 (100,000 - p) <= 60,000, so
    a need of 70,000 leaves 10,000 short (counting the stock twice would give 110,000)."""
    table = _table({"partner": "w", "period": [0, 1], "operating_cash_flow": [-70_000.0, 80_000.0],
                    "inventory": [100_000.0, 100_000.0]})
    spec = _spec("w", [
        {"id": "loan", "type": "inventory_loan", "loan_to_value": 0.6, "rate": 0.005},
        {"id": "abl", "type": "asset_based", "rate": 0.01, "inventory_advance_rate": 0.5, "max_age_days": None},
    ])
    res = size_funding(table, spec)
    assert res.status == "infeasible"
    assert res.diagnosis["partners"]["w"]["peak"] == pytest.approx(10_000.0, abs=1e-5)
    inst = res.tables["instruments"]
    period0 = inst[inst["period"] == 0].set_index("instrument")
    assert period0["closing_balance"].sum() == pytest.approx(60_000.0, abs=1e-5)
    assert_conserved(res)


def test_fixed_tenor_minimum_amount_and_draw_window():
    """Need 7,000 in period 1, inflow in period 3. A revolver at 0.1 % that may be drawn only in
    period 0 (draw window) is drawn there for the need and two periods' interest. Without it, a
    platform loan of at least 20,000 (tenor 2, 1 % a period simple: repay 20,400 in period 3)
    is taken at its minimum 20,000 in period 1 (a MIP)."""
    table = _table({"partner": "p", "period": [0, 1, 2, 3], "operating_cash_flow": [0.0, -7_000.0, 0.0, 30_000.0]})
    spec = _spec("p", [
        {"id": "rcf", "type": "revolver", "limit": 50_000, "rate": 0.001, "draw_until": 0},
        {"id": "loan", "type": "fixed_tenor", "tenor": 2, "rate": 0.01, "min_amount": 20_000, "max_amount": 50_000},
    ])
    res = size_funding(table, spec)
    assert res.status == "optimal"
    loan = res.tables["instruments"]
    loan = loan[loan["instrument"] == "loan"].set_index("period")
    rcf = res.tables["instruments"]
    rcf = rcf[rcf["instrument"] == "rcf"].set_index("period")
    # the cheap revolver is drawn in period 0 (its window) for period 1's need and the interest of
    # periods 1 and 2 (no inflow before period 3): B = 7,000 / (1 - 2 x 0.1 %)
    assert rcf.loc[0, "closing_balance"] == pytest.approx(7_000 / 0.998, abs=1e-6)
    assert (rcf.loc[1:, "inflow"] <= 1e-9).all()
    assert loan["inflow"].sum() == pytest.approx(0.0, abs=1e-9)
    # with the revolver gone the loan must be a whole minimum ticket
    spec2 = _spec("p", [
        {"id": "loan", "type": "fixed_tenor", "tenor": 2, "rate": 0.01, "min_amount": 20_000, "max_amount": 50_000},
    ])
    res2 = size_funding(table, spec2)
    assert res2.status == "optimal"
    loan = res2.tables["instruments"].set_index("period")
    assert loan.loc[1, "inflow"] == pytest.approx(20_000.0, abs=1e-6)
    assert loan.loc[3, "outflow"] == pytest.approx(20_000.0, abs=1e-6)
    assert loan.loc[3, "interest"] == pytest.approx(400.0, abs=1e-6)
    assert res2.kpis["partners"]["p"]["ending_cash"] == pytest.approx(30_000 - 7_000 - 400, abs=1e-6)
    assert_conserved(res)
    assert_conserved(res2)


def test_carry_policy_reports_debt_at_the_end():
    """A revolver that may be carried past the horizon: a need of 5,000 in the last period is
    drawn and reported as debt at the end; under "repay" the same need cannot be funded."""
    flows = {"partner": "c", "period": [0, 1], "operating_cash_flow": [0.0, -5_000.0]}
    carry = size_funding(_table(flows), _spec("c", [{"id": "rcf", "type": "revolver", "limit": 10_000, "rate": 0.01, "at_end": "carry"}]))
    assert carry.status == "optimal"
    assert carry.kpis["partners"]["c"]["ending_debt"] == pytest.approx(5_000.0, abs=1e-6)
    repay = size_funding(_table(flows), _spec("c", [{"id": "rcf", "type": "revolver", "limit": 10_000, "rate": 0.01}]))
    assert repay.status == "infeasible"
    assert repay.diagnosis["shortfalls"] == [{"partner": "c", "period": 1, "amount": pytest.approx(5_000.0, abs=1e-6)}]


def test_binding_limits_and_shadow_prices_by_hand():
    """Period 0 spends 7,000 and must keep 1,000 (minimum cash), repaid from period 1's 10,000. A
    cheap line (limit 5,000, 1 % a period) and a dear one (3 %, no limit to speak of): draw 5,000
    cheap and 3,000 dear, interest 50 + 90 = 140. One euro more of the cheap limit in period 0
    saves 3 % - 1 % = 0.02; one euro more of minimum cash in period 0 costs the dear line's 0.03.
    Nothing else binds (period 1 ends with 10,000 - 8,000 - 140 = 1,860 above its 1,000)."""
    table = _table({"partner": "s", "period": [0, 1], "operating_cash_flow": [-7_000.0, 10_000.0]})
    spec = _spec("s", [{"id": "cheap", "type": "revolver", "limit": 5_000, "rate": 0.01},
                       {"id": "dear", "type": "revolver", "limit": 1_000_000, "rate": 0.03}], min_cash=1_000)
    res = size_funding(table, spec)
    assert res.status == "optimal" and res.kpis["total"]["interest"] == pytest.approx(140.0, abs=1e-6)
    prices = {b["constraint"]: abs(b["shadow_price"]) for b in res.binding}
    assert prices.keys() == {"finance.credit_limit[s,cheap,0]", "minimum_cash[s,0]"}, res.binding
    assert prices["finance.credit_limit[s,cheap,0]"] == pytest.approx(0.02, abs=1e-9)
    assert prices["minimum_cash[s,0]"] == pytest.approx(0.03, abs=1e-9)
    assert {b["family"] for b in res.binding} == {"credit_limit", "minimum_cash"}


def test_commitment_fee_and_deposit_interest():
    """Revolver limit 10,000, 1 % interest, 0.2 % commitment fee on the undrawn part; deposit
    0.5 % a period on cash. Period 0 needs 4,000 (opening cash 1,000 earns 5 in period 0):
    fee 0.2 % x 10,000 = 20 in period 0; draw 3,000 - 5 + 20 = 3,015. Period 1: interest 30.15,
    fee 0.2 % x (10,000 - 3,015) = 13.97."""
    table = _table({"partner": "d", "period": [0, 1], "operating_cash_flow": [-4_000.0, 10_000.0]})
    spec = parse_finance_spec({"partners": [{"partner": "d", "opening_cash": 1_000, "deposit_rate": 0.005, "instruments": [
        {"id": "rcf", "type": "revolver", "limit": 10_000, "rate": 0.01, "commitment_fee": 0.002}]}]})
    res = size_funding(table, spec)
    c = res.tables["cash"].set_index("period")
    r = res.tables["instruments"].set_index("period")
    assert c.loc[0, "deposit_interest"] == pytest.approx(5.0)
    assert r.loc[0, "fees"] == pytest.approx(20.0)
    assert r.loc[0, "closing_balance"] == pytest.approx(3_015.0, abs=1e-6)
    assert r.loc[1, "interest"] == pytest.approx(30.15, abs=1e-6)
    assert r.loc[1, "fees"] == pytest.approx(0.002 * (10_000 - 3_015), abs=1e-6)
    assert_conserved(res)


def test_unbounded_is_a_status_not_a_crash():
    """A deposit rate above an unlimited loan's rate is an arbitrage: status 'unbounded'."""
    table = _table({"partner": "u", "period": [0, 1, 2], "operating_cash_flow": [0.0, 0.0, 0.0]})
    spec = parse_finance_spec({"partners": [{"partner": "u", "deposit_rate": 0.02, "instruments": [
        {"id": "cheap", "type": "fixed_tenor", "tenor": 1, "rate": 0.001}]}]})
    res = size_funding(table, spec)
    assert res.status == "unbounded"
    assert "deposit" in res.diagnosis["message"]
    assert res.to_dict()["status"] == "unbounded"
