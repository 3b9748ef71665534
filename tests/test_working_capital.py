"""The working-capital book is derived once (planning/working_capital.py) and its three readers
agree: the plan's ``working_capital`` table, the cash-flow table of a finished plan
(``cashflows_from_plan``) and the joint model's linear expressions (``PlanExpressions``).

A two-partner chain small enough to recompute by hand from the scenario's own numbers (payment
terms x invoiced amounts), one product ``w`` at standard cost 12, 4 monthly periods:

    plant (maker) --pd, lead 1, 2/unit--> dc (maker) --ds, lead 0, 1/unit--> store (shop)

- maker sells to shop at 20/unit on lane ds, collected 2 periods later (maker's collection lag):
  maker's receivables at the end of t = 20 x (ds[t] (age 1) + ds[t-1] (age 2)), which are shop's
  payables, due in t + 2;
- shop sells to consumers at 30/unit, collected 1 period later: receivables = 30 x sales[t];
- maker pays material 10/unit made and transport 2/unit on pd, 1/unit on ds one period later:
  payables = 10 x produce[t] + 2 x pd[t] + 1 x ds[t];
- inventory at cost = 12 x stock at the partner's sites, + 12 x pd[t] for maker (in transit on pd
  at the end of t);
- opening balances: maker collects 500 and 300 in periods 0 and 1, shop pays 150 and 90 in 0 and
  2. The plan's working-capital table leaves them out; the cash-flow table counts them (customer
  or supplier "(opening balance)", age t + 1 periods).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

from conftest import solve
from finance.cashflows import cashflows_from_plan
from finance.extension import FinanceExtension, joint_scenario
from planning.plan import Solution, plan_scenario
from planning.working_capital import EXTERNAL, OPENING, working_capital_book
from scenarios.finance import parse_finance_spec
from scenarios.io import parse_scenario
from test_hand_worked_chain import chain as hand_worked_chain

EXACT = 1e-6
DAYS = 365.0 / 12
COST = 12.0


def chain() -> dict:
    data = copy.deepcopy(hand_worked_chain())
    data["products"] = [{"id": "w", "standard_cost": COST}]
    maker, shop = data["partners"]
    maker["payment_terms"]["collection_lag"] = 2
    maker["opening_receivables"] = [500.0, 300.0]
    shop["opening_payables"] = [150.0, 0.0, 90.0]
    return data


def spec():
    """A revolver each; maker borrows against its receivables (60-day age cut-off: only age 1 of
    the 2-month invoices counts), shop may pay maker early."""
    return parse_finance_spec({"partners": [
        {"partner": "maker", "instruments": [
            {"id": "rcf", "type": "revolver", "limit": 5000, "rate": 0.02},
            {"id": "abl", "type": "asset_based", "limit": 8000, "rate": 0.01, "receivables_advance_rate": 0.8,
             "inventory_advance_rate": 0.5, "max_age_days": 60}]},
        {"partner": "shop", "instruments": [
            {"id": "rcf", "type": "revolver", "limit": 5000, "rate": 0.02},
            {"id": "early", "type": "early_payment_discount", "supplier": "maker", "discount": 0.01,
             "discount_days": 10, "net_days": 60}]},
    ]})


def _q(plan, table: str, column: str, **where) -> np.ndarray:
    df = plan.tables[table]
    for k, v in where.items():
        df = df[df[k] == v]
    return df.groupby("period")[column].sum().reindex(range(4), fill_value=0.0).to_numpy()


def _prev(x: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], x[:-1]])


def by_hand(plan) -> dict[str, np.ndarray]:
    """The balances recomputed from the plan's quantities and the scenario's literals."""
    ds, pd_ = _q(plan, "shipments", "quantity", lane="ds"), _q(plan, "shipments", "quantity", lane="pd")
    made, sold = _q(plan, "production", "production"), _q(plan, "sales", "sales")
    stock = {s: _q(plan, "inventory", "inventory", site=s) for s in ("plant", "dc", "store")}
    return {
        "maker_receivables_age1": 20 * ds,
        "maker_receivables_age2": 20 * _prev(ds),
        "maker_receivables": 20 * (ds + _prev(ds)),
        "maker_opening_receivables": np.array([300.0, 0, 0, 0]),
        "maker_collections": 20 * _prev(_prev(ds)) + np.array([500.0, 300.0, 0, 0]),
        "maker_payables": 10 * made + 2 * pd_ + 1 * ds,
        "maker_inventory": COST * (stock["plant"] + stock["dc"] + pd_),
        "shop_receivables": 30 * sold,
        "shop_collections": 30 * _prev(sold),
        "shop_payables": 20 * (ds + _prev(ds)),
        "shop_opening_payables": np.array([90.0, 90.0, 0, 0]),
        "shop_due_to_maker": 20 * _prev(_prev(ds)),
        "shop_inventory": COST * stock["store"],
    }


def _wc(plan, a: str, column: str) -> np.ndarray:
    wc = plan.tables["working_capital"]
    return wc[wc["partner"] == a].sort_values("period")[column].to_numpy()


def check_plan_against_hand(plan) -> None:
    h = by_hand(plan)
    assert h["maker_receivables"].sum() > 1000 and h["shop_due_to_maker"].sum() > 1000  # the chain trades
    for a in ("maker", "shop"):
        np.testing.assert_allclose(_wc(plan, a, "receivables"), h[f"{a}_receivables"], atol=EXACT)
        np.testing.assert_allclose(_wc(plan, a, "payables"), h[f"{a}_payables"], atol=EXACT)
        np.testing.assert_allclose(_wc(plan, a, "inventory_value"), h[f"{a}_inventory"], atol=EXACT)
    table = cashflows_from_plan(plan)
    np.testing.assert_allclose(table.series("maker", "receivables"), h["maker_receivables"] + h["maker_opening_receivables"], atol=EXACT)
    np.testing.assert_allclose(table.series("shop", "payables"), h["shop_payables"] + h["shop_opening_payables"], atol=EXACT)
    np.testing.assert_allclose(table.series("maker", "payables"), h["maker_payables"], atol=EXACT)
    for a in ("maker", "shop"):
        np.testing.assert_allclose(table.series(a, "collections"), h[f"{a}_collections"], atol=EXACT)
        np.testing.assert_allclose(table.series(a, "inventory"), h[f"{a}_inventory"], atol=EXACT)
    np.testing.assert_allclose(table.payables_due_of("shop", "maker"), h["shop_due_to_maker"], atol=EXACT)
    for t in range(4):
        rec = table.receivables_at("maker", t).set_index(["customer", "age_days"])["amount"]
        expected = {("shop", DAYS): h["maker_receivables_age1"][t], ("shop", 2 * DAYS): h["maker_receivables_age2"][t],
                    (OPENING, (t + 1) * DAYS): h["maker_opening_receivables"][t]}
        got = {k: float(rec.get(k, 0.0)) for k in expected}
        assert got == pytest.approx(expected, abs=EXACT), t
        assert float(rec.sum()) == pytest.approx(sum(expected.values()), abs=EXACT), t
        shop = table.receivables_at("shop", t)
        assert set(shop["customer"]) <= {EXTERNAL}
        assert float(shop["amount"].sum()) == pytest.approx(h["shop_receivables"][t], abs=EXACT)


def test_plan_and_cash_flow_table_equal_the_hand_recomputation():
    _, plan = solve(chain())
    assert plan.status == "optimal"
    check_plan_against_hand(plan)


@pytest.fixture(scope="module")
def joint():
    """maker opens with 300 in cash (not 2000): planned with its funding, it makes less in period 1
    and shop pays an invoice early."""
    data = chain()
    data["partners"][0]["opening_cash"] = 300
    scenario, _ = parse_scenario(data)
    ext = FinanceExtension(spec(), collection_rates={})
    plan = plan_scenario(joint_scenario(scenario), extensions=[ext])
    assert plan.status == "optimal"
    assert plan.tables["funding_instruments"]["inflow"].max() > 500
    return plan, ext


def _cells(view) -> dict:
    """A book view as {(partner, period, key): number}, cells worth nothing left out."""
    out = {}
    for a, per_t in view.items():
        for t, cells in enumerate(per_t):
            items = cells.items() if isinstance(cells, dict) else [(None, cells)]
            for key, cell in items:
                v = cell.value()
                if abs(v) > 1e-9:
                    out[a, t, key] = v
    return out


def test_joint_expressions_evaluate_to_the_solutions_numbers(joint):
    """For the solved joint plan, every cell of the book as linear expressions of the model's
    variables, evaluated at the solution, equals the book derived in numbers from the Solution;
    the funding model's inputs are those cells."""
    plan, ext = joint
    expressions = ext.x.book
    numbers = working_capital_book(ext.d, Solution.from_model(ext.m, ext.d).series)
    assert any(cell.coefs for cells in expressions.receivables["maker"] for cell in cells.values())
    for view in ("receivables", "payables", "payables_due", "collections", "inventory"):
        got, want = _cells(getattr(expressions, view)), _cells(getattr(numbers, view))
        assert set(got) == set(want), view
        assert got == pytest.approx(want, rel=1e-9, abs=1e-9), view
    h = by_hand(plan)
    inputs = ext.fm.inputs
    for t in range(4):
        assert pyo.value(inputs["maker"].receivables[t]) == pytest.approx(
            h["maker_receivables"][t] + h["maker_opening_receivables"][t], abs=EXACT)
        # the 60-day cut-off: age 1 (30.4 days) counts, age 2 (60.8 days) does not
        eligible = h["maker_receivables_age1"][t] + (h["maker_opening_receivables"][t] if (t + 1) * DAYS <= 60 else 0.0)
        assert pyo.value(inputs["maker"].pools["abl"][t]) == pytest.approx(eligible, abs=EXACT)
        assert pyo.value(inputs["shop"].payables_due["early"][t]) == pytest.approx(h["shop_due_to_maker"][t], abs=EXACT)


def test_joint_plan_tables_equal_the_hand_recomputation(joint):
    """The joint plan's working-capital table, the cash-flow table its funding read back from its
    own model, and the same table built from the finished plan all equal the hand numbers."""
    plan, ext = joint
    check_plan_against_hand(plan)
    own, finished = ext.table, cashflows_from_plan(plan)
    cols = ["operating_cash_flow", "sales", "cogs", "receivables", "inventory", "payables", "collections"]
    pd.testing.assert_frame_equal(own.flows[cols], finished.flows[cols], rtol=1e-9, atol=1e-9)
    pd.testing.assert_frame_equal(own.receivables, finished.receivables, rtol=1e-9, atol=1e-9)
    pd.testing.assert_frame_equal(own.payables_due, finished.payables_due, rtol=1e-9, atol=1e-9)
