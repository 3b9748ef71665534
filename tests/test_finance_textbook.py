"""Finance against published worked examples with known answers (the source is in each docstring)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from finance.cashflows import make_cashflow_table, read_cashflows_csv
from finance.collateral import borrowing_base, eligible_receivables, parse_age_bucket
from finance.metrics import (
    cash_conversion_cycle,
    days_inventory_outstanding,
    days_payables_outstanding,
    days_sales_outstanding,
    early_payment_discount_amount,
    effective_annual_rate,
    implied_cost_of_trade_credit,
    parse_terms,
)
from finance.sizing import build_sizing_model, prepare, size_funding, _solve
from scenarios.finance import FundingObjective, load_finance_spec, parse_finance_spec

FIN = Path(__file__).parent / "instances" / "finance"


# ---------------------------------------------------------------------------------------------
# Cornuejols & Tutuncu, short-term financing
# ---------------------------------------------------------------------------------------------


def _short_term():
    spec = load_finance_spec(FIN / "short_term_financing.yaml")
    table = read_cashflows_csv(FIN / "short_term_financing.csv")
    return spec, table


def test_short_term_financing_lp_optimum():
    """G. Cornuejols & R. Tutuncu, *Optimization Methods in Finance*, Cambridge University Press
    (2007), section 3.1 "Short term financing" (the LP of 3.1.1, solved in 3.1.2).

    Net cash flows Jan..Jun: -150, -100, 200, -200, 50, 300 (k$). A line of credit up to 100 at
    1 % a month, 90-day commercial paper at 2 % for the three months (issued Jan..Mar), excess
    cash invested at 0.3 % a month. Maximise wealth at the end of June.
    Published optimum: v = 92.497 (k$); solution x2 = 50.98 (credit line in February),
    y1 = 150, y2 = 49.02, y3 = 203.43 (commercial paper), z3 = 351.94 (cash invested in March).
    """
    spec, table = _short_term()
    res = size_funding(table, spec)
    assert res.status == "optimal"
    assert res.objective_name == FundingObjective.max_ending_cash.value
    assert res.objective == pytest.approx(92.49694915, abs=1e-6)
    k = res.kpis["partners"]["company"]
    assert k["ending_cash"] == pytest.approx(92.49694915, abs=1e-6)
    assert k["ending_debt"] == pytest.approx(0.0, abs=1e-9)
    # wealth = sum of net flows (100) - net financing cost
    assert k["net_financing_cost"] == pytest.approx(100.0 - 92.49694915, abs=1e-6)
    # the commercial paper is repaid by June, the line too
    inst = res.tables["instruments"]
    cp = inst[inst["instrument"] == "commercial_paper"].set_index("period")
    assert cp.loc[[3, 4, 5], "inflow"].abs().max() < 1e-9  # nothing issued after March
    assert cp["closing_balance"].iloc[-1] == pytest.approx(0.0, abs=1e-9)


def test_short_term_financing_published_solution_is_optimal_here():
    """Same source. The LP has alternative optima (the same wealth with other mixes); restricted to
    the published pattern (credit line used only in February, 150 of commercial paper in
    January, nothing invested but in March) this formulation returns the published solution:
    x2 = 50.98, y2 = 49.02, y3 = 203.43, z3 = 351.94 and the same wealth 92.497."""
    spec, table = _short_term()
    s = prepare(spec, table)
    m, fm = build_sizing_model(s, FundingObjective.max_ending_cash)
    line = m.finance.balance
    for t in (0, 2, 3, 4):
        line["company", "credit_line", t].setub(0.0)
    m.finance.borrow["company", "commercial_paper", 0].setlb(150.0)
    m.finance.borrow["company", "commercial_paper", 0].setub(150.0)
    for t in (0, 1, 3, 4):
        m.cash["company", t].setub(0.0)
    result, _compiled = _solve(m)
    assert result.status == "optimal"
    assert line["company", "credit_line", 1].value == pytest.approx(50.98, abs=0.005)
    cp = m.finance.borrow
    assert cp["company", "commercial_paper", 1].value == pytest.approx(49.02, abs=0.005)
    assert cp["company", "commercial_paper", 2].value == pytest.approx(203.43, abs=0.005)
    assert m.cash["company", 2].value == pytest.approx(351.94, abs=0.005)
    assert m.cash["company", 5].value == pytest.approx(92.49694915, abs=1e-6)


def test_short_term_financing_credit_line_only_costs_more():
    """Same source, the instruments taken away one by one: without the commercial paper the line
    (limit 100) cannot cover the February need of 250, so the plan is short; the diagnosis names
    the company and February-and-after by the amount the line cannot cover."""
    spec, table = _short_term()
    data = spec.model_dump(mode="json")
    data["partners"][0]["instruments"] = [i for i in data["partners"][0]["instruments"] if i["id"] == "credit_line"]
    res = size_funding(table, parse_finance_spec(data))
    assert res.status == "infeasible"
    diag = res.diagnosis
    assert set(diag["partners"]) == {"company"}
    assert diag["partners"]["company"]["first_period"] == 0
    # January: need 150, line gives 100 -> short 50. February: need 100 more + 1 interest on the line
    cash = res.tables["cash"].set_index("period")
    assert cash.loc[0, "shortfall"] == pytest.approx(50.0, abs=1e-6)
    assert cash.loc[1, "shortfall"] == pytest.approx(151.0, abs=1e-6)
    assert "company" in diag["message"]


# ---------------------------------------------------------------------------------------------
# Trade credit
# ---------------------------------------------------------------------------------------------


def test_cost_of_forgoing_2_10_net_30():
    """Brealey, Myers & Allen, *Principles of Corporate Finance* (trade credit / credit management
    chapter) and Ross, Westerfield & Jaffe, *Corporate Finance* (credit and inventory management):
    terms 2/10 net 30 — forgoing the discount borrows 98 for 20 days at a cost of 2, i.e.
    2/98 = 2.04 % per 20 days; simple annual rate 2/98 x 365/20 = 37.24 %, effective annual rate
    (1 + 2/98) ** (365/20) - 1 = 44.6 %."""
    d, dd, nd = parse_terms("2/10 net 30")
    assert (d, dd, nd) == (0.02, 10.0, 30.0)
    assert parse_terms("2/10, n/30") == (0.02, 10.0, 30.0)
    assert implied_cost_of_trade_credit(d, dd, nd) == pytest.approx(0.3724, abs=5e-5)
    assert implied_cost_of_trade_credit(d, dd, nd, compound=True) == pytest.approx(0.446, abs=5e-4)
    with pytest.raises(ValueError):
        parse_terms("two ten net thirty")


def test_early_payment_discount_amount():
    """Same sources: on a 10,000 invoice under 2/10 net 30 the buyer pays 9,800 within 10 days;
    the discount is 200."""
    assert early_payment_discount_amount(10_000, 0.02) == pytest.approx(200.0)


def _epd_case(revolver_rate: float):
    """A buyer owes 10,000 due in period 2 (net term) with 2/10 net 30 (shift one period); it has
    no cash to spare in period 1, so paying early means borrowing 9,800 on its revolver for one
    period."""
    flows = pd.DataFrame(
        {"partner": "buyer", "period": [0, 1, 2, 3], "operating_cash_flow": [0.0, 0.0, 0.0, 0.0]}
    )
    payables = pd.DataFrame({"partner": ["buyer"], "period": [2], "supplier": ["acme"], "amount": [10_000.0]})
    table = make_cashflow_table(flows, payables_due=payables, periods_per_year=12)
    spec = parse_finance_spec(
        {
            "partners": [
                {
                    "partner": "buyer",
                    "opening_cash": 0,
                    "instruments": [
                        {"id": "rcf", "type": "revolver", "limit": 50_000, "rate": revolver_rate},
                        {"id": "acme_terms", "type": "early_payment_discount", "supplier": "acme",
                         "discount": 0.02, "discount_days": 10, "net_days": 30, "shift_periods": 1},
                    ],
                }
            ]
        }
    )
    return size_funding(table, spec)


def test_early_payment_discount_taken_when_cheaper_than_the_revolver():
    """Forgoing 2/10 net 30 costs 2/98 = 2.04 % per period here (one-period shift). With a 1 %
    revolver the buyer borrows 9,800 for one period (interest 98) and saves 200: net gain 102.
    With a 3 % revolver (interest 294 > 200) it forgoes the discount."""
    cheap = _epd_case(0.01)
    k = cheap.kpis["partners"]["buyer"]
    assert cheap.status == "optimal"
    assert k["discounts_taken"] == pytest.approx(200.0, abs=1e-6)
    assert k["interest"] == pytest.approx(98.0, abs=1e-6)
    assert k["net_financing_cost"] == pytest.approx(-102.0, abs=1e-6)
    dear = _epd_case(0.03)
    k = dear.kpis["partners"]["buyer"]
    assert k["discounts_taken"] == pytest.approx(0.0, abs=1e-9)
    assert k["net_financing_cost"] == pytest.approx(0.0, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Borrowing base
# ---------------------------------------------------------------------------------------------

AGEING = [
    # customer, ageing bucket (days since invoice), amount
    ("alpha", "0-30", 200_000.0),
    ("alpha", "31-60", 100_000.0),
    ("alpha", "91+", 20_000.0),
    ("beta", "0-30", 150_000.0),
    ("beta", "61-90", 30_000.0),
    ("gamma", "0-30", 50_000.0),
    ("gamma", "over 90", 10_000.0),
    ("delta_affiliate", "0-30", 40_000.0),
]


def _ageing_frame() -> pd.DataFrame:
    return pd.DataFrame(
        [{"customer": c, "age_days": parse_age_bucket(b), "amount": a} for c, b, a in AGEING]
    )


def test_borrowing_base_with_ineligible_receivables():
    """A borrowing-base certificate computed by hand (standard asset-based-lending practice, e.g.
    the ABL availability definition in the BRIEF: advance rate x eligible receivables + advance
    rate x eligible inventory at cost - reserves; over-90-day receivables and the part above a
    single-customer concentration limit are ineligible):

    gross receivables                         600,000
    - over 90 days (alpha 20,000, gamma 10,000) -30,000
    - excluded affiliate (delta)              -40,000
    = passing age and customer tests          530,000
    - concentration above 40 % x 530,000 = 212,000: alpha 300,000 -> -88,000
    = eligible receivables                    442,000
    x 85 % advance                            375,700
    + inventory at cost 300,000 x 50 %        150,000
    - reserves                                -25,000
    = borrowing base                          500,700; limit 450,000 -> availability 450,000
    """
    bb = borrowing_base(
        _ageing_frame(),
        300_000.0,
        receivables_advance_rate=0.85,
        inventory_advance_rate=0.5,
        reserves=25_000.0,
        limit=450_000.0,
        max_age_days=90,
        concentration_limit=0.40,
        excluded_customers=["delta_affiliate"],
    )
    assert bb["gross"] == pytest.approx(600_000.0)
    assert bb["over_age"] == pytest.approx(30_000.0)
    assert bb["excluded"] == pytest.approx(40_000.0)
    assert bb["concentration_excess"] == pytest.approx(88_000.0)
    assert bb["concentration_by_customer"] == {"alpha": pytest.approx(88_000.0)}
    assert bb["eligible"] == pytest.approx(442_000.0)
    assert bb["receivables_advance"] == pytest.approx(375_700.0)
    assert bb["inventory_advance"] == pytest.approx(150_000.0)
    assert bb["borrowing_base"] == pytest.approx(500_700.0)
    assert bb["availability"] == pytest.approx(450_000.0)
    # without the limit the base itself is available
    assert eligible_receivables(_ageing_frame(), max_age_days=90)["eligible"] == pytest.approx(570_000.0)


def test_borrowing_base_caps_the_asset_based_line_in_the_lp():
    """The same certificate inside the sizing LP: a partner needing 600,000 in period 0 can draw
    only the 450,000 available (limit); the diagnosis says it is 150,000 short in period 0. In
    period 1 it collects 700,000, repays 450,000 plus 1 % interest (4,500) and the 150,000 it had
    to find elsewhere: ending cash 700,000 - 450,000 - 4,500 - 150,000 = 95,500."""
    rows = []
    for t in (0, 1):
        rows += [{"partner": "co", "period": t, "customer": c, "age_bucket": b, "amount": a} for c, b, a in AGEING]
    flows = pd.DataFrame(
        {"partner": "co", "period": [0, 1], "operating_cash_flow": [-600_000.0, 700_000.0],
         "inventory": [300_000.0, 300_000.0]}
    )
    table = make_cashflow_table(flows, pd.DataFrame(rows), periods_per_year=12)
    spec = parse_finance_spec(
        {
            "partners": [
                {
                    "partner": "co",
                    "opening_cash": 0,
                    "instruments": [
                        {"id": "abl", "type": "asset_based", "limit": 450_000, "rate": 0.01,
                         "receivables_advance_rate": 0.85, "inventory_advance_rate": 0.5, "reserves": 25_000,
                         "max_age_days": 90, "concentration_limit": 0.4, "excluded_customers": ["delta_affiliate"]},
                    ],
                }
            ]
        }
    )
    res = size_funding(table, spec)
    assert res.status == "infeasible"
    assert res.diagnosis["shortfalls"] == [{"partner": "co", "period": 0, "amount": pytest.approx(150_000.0, abs=1e-4)}]
    abl = res.tables["instruments"].set_index("period")
    assert abl.loc[0, "closing_balance"] == pytest.approx(450_000.0, abs=1e-4)
    assert abl.loc[0, "eligible_receivables"] == pytest.approx(442_000.0)
    assert abl.loc[0, "ineligible_concentration"] == pytest.approx(88_000.0)
    assert abl.loc[0, "ineligible_over_age"] == pytest.approx(30_000.0)
    assert abl.loc[0, "availability"] == pytest.approx(450_000.0)
    assert abl.loc[0, "headroom"] == pytest.approx(0.0, abs=1e-4)
    assert abl.loc[1, "interest"] == pytest.approx(4_500.0, abs=1e-4)
    assert res.kpis["partners"]["co"]["ending_cash"] == pytest.approx(95_500.0, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# Working-capital days
# ---------------------------------------------------------------------------------------------


def test_cash_conversion_cycle_textbook():
    """Ross, Westerfield & Jordan, *Fundamentals of Corporate Finance*, chapter "Short-Term
    Finance and Planning" (the operating and cash cycles): inventory 2,000 -> 3,000 (average
    2,500), receivables 1,600 -> 2,000 (1,800), payables 750 -> 1,000 (875); net sales 11,500,
    cost of goods sold 8,200. Inventory period 365 / (8,200 / 2,500) = 111 days, receivables
    period 365 / (11,500 / 1,800) = 57 days, payables period 365 / (8,200 / 875) = 39 days;
    operating cycle 168 days, cash cycle 168 - 39 = 129 days."""
    dio = days_inventory_outstanding(2_500, 8_200)
    dso = days_sales_outstanding(1_800, 11_500)
    dpo = days_payables_outstanding(875, 8_200)
    assert dio == pytest.approx(111.28, abs=0.01)
    assert dso == pytest.approx(57.13, abs=0.01)
    assert dpo == pytest.approx(38.95, abs=0.01)
    assert dio + dso == pytest.approx(168.41, abs=0.01)
    assert cash_conversion_cycle(dso, dio, dpo) == pytest.approx(129.46, abs=0.01)
    assert round(cash_conversion_cycle(dso, dio, dpo)) == 129
    assert days_sales_outstanding(1_800, 0) is None


def test_cash_conversion_cycle_from_a_cash_flow_table():
    """The same statements as a one-period (one-year) cash-flow table: the funding report's DSO,
    DIO, DPO and CCC per partner are the textbook's 57, 111, 39 and 129 days."""
    flows = pd.DataFrame(
        {"partner": ["co"], "period": [0], "operating_cash_flow": [0.0], "sales": [11_500.0], "cogs": [8_200.0],
         "receivables": [1_800.0], "inventory": [2_500.0], "payables": [875.0]}
    )
    table = make_cashflow_table(flows, periods_per_year=1)
    res = size_funding(table, parse_finance_spec({"currency": "USD"}))
    k = res.kpis["partners"]["co"]
    assert k["days_sales_outstanding"] == pytest.approx(57.13, abs=0.01)
    assert k["days_inventory_outstanding"] == pytest.approx(111.28, abs=0.01)
    assert k["days_payables_outstanding"] == pytest.approx(38.95, abs=0.01)
    assert k["cash_conversion_cycle_days"] == pytest.approx(129.46, abs=0.01)


def test_effective_annual_rate_of_a_monthly_revolver():
    """A revolver at 1 % a month carried for two months (balance 1,000 then 1,010 as the first
    month's interest is drawn too) costs 10 + 10.10 = 20.10 on 2,010 of balance-months: 1 % a
    month, i.e. 12 % simple and (1.01) ** 12 - 1 = 12.68 % effective a year."""
    flows = pd.DataFrame({"partner": "co", "period": [0, 1, 2], "operating_cash_flow": [-1_000.0, 0.0, 1_020.1]})
    table = make_cashflow_table(flows, periods_per_year=12)
    spec = parse_finance_spec(
        {"partners": [{"partner": "co", "instruments": [{"id": "rcf", "type": "revolver", "limit": 5_000, "rate": 0.01}]}]}
    )
    res = size_funding(table, spec)
    k = res.kpis["partners"]["co"]
    assert k["interest"] == pytest.approx(20.10, abs=1e-9)
    assert k["rate_per_period"] == pytest.approx(0.01, abs=1e-12)
    assert k["annual_rate_simple"] == pytest.approx(0.12, abs=1e-12)
    assert k["effective_annual_rate"] == pytest.approx(effective_annual_rate(0.01, 12), abs=1e-12)
    assert k["effective_annual_rate"] == pytest.approx(0.126825, abs=1e-6)
    assert k["ending_cash"] == pytest.approx(0.0, abs=1e-6)
