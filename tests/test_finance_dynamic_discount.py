"""Dynamic discounting (finance/instruments/dynamic_discount.py): the discount as an annual rate
on the days paid early, checked against published figures, and the buyer's choice in the
funding model, worked by hand."""

from __future__ import annotations

import pandas as pd
import pytest
from rich.console import Console

from finance.cashflows import make_cashflow_table
from finance.instruments import dynamic_discount_amount
from finance.sizing import size_funding
from jointplan import finance_cli
from scenarios.finance import FinanceError, finance_json_schema, parse_finance_spec
from scenarios.schema import scenario_json_schema
from test_finance_sizing import assert_conserved

DPP = 365.0 / 12  # days in a monthly period


def _errors(exc: FinanceError) -> dict[str, str]:
    return {p.path: p.message for p in exc.problems if p.severity == "error"}


# ---------------------------------------------------------------------------------------------
# The discount
# ---------------------------------------------------------------------------------------------


def test_discount_matches_published_examples():
    """Oracle Fusion Cloud Financials (Payables), "Examples of Reviewing Early Payment Discount
    Offers" (docs.oracle.com/en/cloud/saas/financials/24c/fappp/examples-of-reviewing-early-
    payment-discount-offers.html): three invoices of 10,000 USD paid on 1 January, sliding-scale
    discount = amount x APR x days accelerated / 360: 7 days at 18 % -> 35.00, 7 days at 24 % ->
    46.67, 14 days at 24 % -> 93.33. The actual/365 figures are hand-worked from the same formula:
    10,000 x 0.18 x 7 / 365 = 34.52, x 0.24 x 7 / 365 = 46.03, x 0.24 x 14 / 365 = 92.05."""
    assert round(dynamic_discount_amount(10_000, 0.18, 7), 2) == 35.00
    assert round(dynamic_discount_amount(10_000, 0.24, 7, "actual/360"), 2) == 46.67
    assert round(dynamic_discount_amount(10_000, 0.24, 14), 2) == 93.33
    assert round(dynamic_discount_amount(10_000, 0.18, 7, "actual/365"), 2) == 34.52
    assert round(dynamic_discount_amount(10_000, 0.24, 7, "actual/365"), 2) == 46.03
    assert round(dynamic_discount_amount(10_000, 0.24, 14, "actual/365"), 2) == 92.05


# ---------------------------------------------------------------------------------------------
# The buyer's choice, in the funding model
# ---------------------------------------------------------------------------------------------


def _case(opening_cash: float, instruments: list, *, inflow: float = 0.0, deposit_rate: float = 0.0,
          supplier: dict | None = None, supplier_flows=(0.0, 0.0, 10_000.0)):
    """A buyer owes acme 10,000 due in period 2 (monthly periods, T = 3); ``inflow`` arrives in
    period 2. Acme offers 18 % APR, actual/360, up to 61 days early (two periods). With
    ``supplier`` (its finance), acme is a partner of the table with ``supplier_flows``."""
    rows = [{"partner": "buyer", "period": t, "operating_cash_flow": inflow - 10_000.0 if t == 2 else 0.0}
            for t in range(3)]
    if supplier is not None:
        rows += [{"partner": "acme", "period": t, "operating_cash_flow": supplier_flows[t]} for t in range(3)]
    payables = pd.DataFrame({"partner": ["buyer"], "period": [2], "supplier": ["acme"], "amount": [10_000.0]})
    table = make_cashflow_table(pd.DataFrame(rows), payables_due=payables, periods_per_year=12)
    dd = {"id": "acme_dd", "type": "dynamic_discount", "supplier": "acme", "apr": 0.18, "day_count": "actual/360",
          "max_days_early": 61}
    spec = [{"partner": "buyer", "opening_cash": opening_cash, "deposit_rate": deposit_rate,
             "instruments": [dd, *instruments]}]
    if supplier is not None:
        spec.append({"partner": "acme", "opening_cash": 0, **supplier})
    return size_funding(table, parse_finance_spec({"partners": spec}))


def _rows(res, instrument: str) -> pd.DataFrame:
    inst = res.tables["instruments"]
    return inst[inst["instrument"] == instrument].set_index("period")


def test_spare_cash_takes_the_discount_when_the_apr_beats_the_deposit_rate():
    """Opening cash 20,000 earning 0.5 % a month (6 % a year); 18 % APR actual/360 is 1.52 % a
    month. Paying in period 0 (two months, 60.83 days early) is worth d2 = 0.18 x 60.83 / 360 =
    3.042 % = 304.17; one month early 152.08; the deposit gives about 1 % over two months. So the
    whole invoice is paid two periods early for 9,695.83:
    cash0 = 20,000 x 1.005 - 9,695.83 = 10,404.17, cash1 = x 1.005, cash2 = x 1.005 = 10,508.47
    (against 10,301.50 not paying early)."""
    res = _case(20_000.0, [], deposit_rate=0.005)
    assert res.status == "optimal"
    d2 = 0.18 * 2 * DPP / 360
    dd = _rows(res, "acme_dd")
    assert dd.loc[0, "paid_early_face"] == pytest.approx(10_000.0, abs=1e-6)
    assert dd.loc[0, "outflow"] == pytest.approx(10_000.0 * (1 - d2), abs=1e-6)
    assert dd.loc[2, "settled_early_face"] == pytest.approx(10_000.0, abs=1e-6)
    assert dd.loc[2, "discount_taken"] == pytest.approx(304.17, abs=0.005)
    k = res.kpis["partners"]["buyer"]
    ending = (20_000.0 * 1.005 - 10_000.0 * (1 - d2)) * 1.005 ** 2
    assert k["ending_cash"] == pytest.approx(ending, abs=1e-6)
    assert ending == pytest.approx(10_508.47, abs=0.005)
    assert k["discounts_taken"] == pytest.approx(304.17, abs=0.005)
    assert res.kpis["partners"]["buyer"]["instruments"]["acme_dd"]["label"].startswith("payment brought forward")
    assert_conserved(res)


@pytest.mark.parametrize("rate, taken", [(0.02, False), (0.01, True)])
def test_borrowing_to_pay_early_only_when_the_line_costs_less_than_the_apr(rate, taken):
    """No spare cash; a revolver at ``rate`` a month, 20,000 arriving in period 2. At 2 % a month
    (24 % a year, above the 18 % APR) paying two months early would cost 0.02 x 9,695.83 +
    0.02 x 1.02 x 9,695.83 = 391.71 of interest for a 304.17 discount (one month: 196.96 for
    152.08): not taken, the line unused. At 1 % a month it costs 0.0201 x 9,695.83 = 194.89: the
    invoice is paid two months early on the line, net financing cost 194.89 - 304.17 = -109.28."""
    res = _case(0.0, [{"id": "rcf", "type": "revolver", "limit": 50_000, "rate": rate}], inflow=20_000.0)
    assert res.status == "optimal"
    dd, rcf = _rows(res, "acme_dd"), _rows(res, "rcf")
    d2 = 0.18 * 2 * DPP / 360
    k = res.kpis["partners"]["buyer"]
    if not taken:
        assert dd["paid_early_face"].abs().max() < 1e-9
        assert rcf["closing_balance"].abs().max() < 1e-9
        assert k["net_financing_cost"] == pytest.approx(0.0, abs=1e-9)
    else:
        b0 = 10_000.0 * (1 - d2)
        assert dd.loc[0, "paid_early_face"] == pytest.approx(10_000.0, abs=1e-6)
        assert rcf.loc[0, "closing_balance"] == pytest.approx(b0, abs=1e-6)
        assert k["interest"] == pytest.approx(0.0201 * b0, abs=1e-6)
        assert k["net_financing_cost"] == pytest.approx(0.0201 * b0 - 10_000.0 * d2, abs=1e-6)
        assert k["net_financing_cost"] == pytest.approx(-109.28, abs=0.005)
    assert_conserved(res)


def test_liquidity_limit_caps_the_cash_paid_early_and_outstanding():
    """A liquidity limit of 5,000 on the money outstanding: at the end of periods 0 and 1 the cash
    paid on invoices not yet due is at most 5,000, so 5,000 / (1 - d2) = 5,156.84 of face value is
    paid two months early (the best option), and no more."""
    res = _case(20_000.0, [], deposit_rate=0.005)
    assert _rows(res, "acme_dd").loc[0, "paid_early_face"] == pytest.approx(10_000.0, abs=1e-6)
    data = {"partners": [{"partner": "buyer", "opening_cash": 20_000, "deposit_rate": 0.005, "instruments": [
        {"id": "acme_dd", "type": "dynamic_discount", "supplier": "acme", "apr": 0.18, "max_days_early": 61,
         "limit": 5_000}]}]}
    flows = pd.DataFrame({"partner": "buyer", "period": [0, 1, 2], "operating_cash_flow": [0.0, 0.0, -10_000.0]})
    payables = pd.DataFrame({"partner": ["buyer"], "period": [2], "supplier": ["acme"], "amount": [10_000.0]})
    res = size_funding(make_cashflow_table(flows, payables_due=payables, periods_per_year=12), parse_finance_spec(data))
    d2 = 0.18 * 2 * DPP / 360
    dd = _rows(res, "acme_dd")
    assert dd.loc[0, "paid_early_face"] == pytest.approx(5_000.0 / (1 - d2), abs=1e-6)
    assert dd.loc[0, "paid_early_outstanding"] == pytest.approx(5_000.0, abs=1e-6)
    assert dd.loc[0, "headroom"] == pytest.approx(0.0, abs=1e-6)
    assert dd["paid_early_face"].sum() == pytest.approx(5_000.0 / (1 - d2), abs=1e-6)
    assert_conserved(res)


def test_a_supplier_in_the_model_is_paid_early_and_gives_the_discount():
    """With acme a partner of the table, short 9,000 in period 0 with only a 3 % a month revolver,
    its cash mirrors the buyer's: the chain is cheapest when the buyer (cash earning 0.5 % a month)
    pays 9,000 / (1 - d2) = 9,282.34 of the invoice two months early, acme receives 9,000 in period
    0 and borrows nothing, and 9,282.34 less is collected in period 2; the discount acme gives
    (282.34) is the buyer's gain."""
    res = _case(20_000.0, [], deposit_rate=0.005, supplier_flows=(-9_000.0, 0.0, 10_000.0), supplier={
        "instruments": [{"id": "rcf", "type": "revolver", "limit": 50_000, "rate": 0.03}]})
    assert res.status == "optimal"
    d2 = 0.18 * 2 * DPP / 360
    face = 9_000.0 / (1 - d2)
    assert _rows(res, "acme_dd").loc[0, "paid_early_face"] == pytest.approx(face, abs=1e-6)
    inst = res.tables["instruments"]
    got = inst[(inst["partner"] == "acme") & (inst["type"] == "early_payment_received")].set_index("period")
    assert got.loc[0, "inflow"] == pytest.approx(9_000.0, abs=1e-6)
    assert got.loc[2, "outflow"] == pytest.approx(face, abs=1e-6)
    assert inst[inst["instrument"] == "rcf"]["closing_balance"].abs().max() < 1e-9
    given = res.kpis["partners"]["acme"]["discounts_given"]
    assert given == pytest.approx(face * d2, abs=1e-6) and given == pytest.approx(282.34, abs=0.005)
    assert res.kpis["partners"]["buyer"]["discounts_taken"] == pytest.approx(given, abs=1e-6)
    assert_conserved(res)


def test_report_labels_it_paid_early_not_borrowing():
    """Like the early-payment discount, the 10,000 paid early is not drawn credit."""
    res = _case(20_000.0, [], deposit_rate=0.005)
    mix = res.kpis["partners"]["buyer"]["instruments"]["acme_dd"]
    assert "not borrowing" in mix["label"]
    assert mix["terms"] == "18 % APR (actual/360), up to 61 days early"
    console = Console(record=True, width=200)
    finance_cli.print_funding(console, res)
    line = next(x for x in console.export_text().splitlines() if "acme_dd" in x)
    assert "10,000 paid early (not borrowing)" in line, line


# ---------------------------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------------------------


def test_dynamic_discount_is_in_both_schemas():
    spec_schema = finance_json_schema()
    dd = spec_schema["$defs"]["DynamicDiscount"]["properties"]
    assert dd["apr"]["unit"] == "1/year" and dd["day_count"]["enum"] == ["actual/360", "actual/365"]
    assert "Liquidity limit" in dd["limit"]["description"]
    scenario_schema = scenario_json_schema()
    assert "DynamicDiscount" in scenario_schema["$defs"]


def test_bad_dynamic_discounts_are_named():
    base = {"id": "dd", "type": "dynamic_discount", "supplier": "acme", "apr": 0.18, "max_days_early": 30}
    cases = [
        ({"apr": -0.1}, "apr", "must not be negative"),
        ({"apr": 0}, "apr", "no discount"),
        ({"max_days_early": 0}, "max_days_early", "must be positive"),
        ({"apr": 20.0, "max_days_early": 30}, "apr", "100 % or more"),
    ]
    for extra, field, words in cases:
        with pytest.raises(FinanceError) as e:
            parse_finance_spec({"partners": [{"partner": "b", "instruments": [{**base, **extra}]}]})
        msg = _errors(e.value)[f"partners[0].instruments[0].{field}"]
        assert words in msg, msg
    with pytest.raises(FinanceError) as e:
        parse_finance_spec({"partners": [{"partner": "b", "instruments": [{**base, "day_count": "30/360"}]}]})
    assert any("day_count" in p.path for p in e.value.problems)
    with pytest.raises(FinanceError) as e:  # two offers on the same payables
        parse_finance_spec({"partners": [{"partner": "b", "instruments": [base, {
            "id": "epd", "type": "early_payment_discount", "supplier": "acme", "discount": 0.02,
            "discount_days": 10, "net_days": 30}]}]})
    assert "two early-payment discounts for the same supplier" in _errors(e.value)["partners[0].instruments"]
    flows = pd.DataFrame({"partner": "b", "period": [0, 1], "operating_cash_flow": 0.0})
    with pytest.raises(FinanceError) as e:
        size_funding(make_cashflow_table(flows, periods_per_year=12), parse_finance_spec(
            {"partners": [{"partner": "b", "instruments": [base]}]}))
    assert "a dynamic discount needs the payments due per supplier" in _errors(e.value)["partners[0].instruments[0]"]


def test_dynamic_discount_in_joint_planning():
    """In the plan's model (small_chain: wholesale buys from maker) a 30 % APR offer from maker
    to wholesale is planned with the operations: what wholesale pays early is what maker receives
    early, the discounts taken and given are equal, and the funding tables add up. An offer from a
    partner that does not supply wholesale is refused, naming the field."""
    from conftest import example
    from finance.extension import funding_result_of, plan_with_finance
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    data = example("small_chain")
    data["finance"]["partners"].append({"partner": "wholesale", "deposit_rate": 0.001, "instruments": [
        {"id": "maker_dd", "type": "dynamic_discount", "supplier": "maker", "apr": 0.30, "max_days_early": 31}]})
    scenario, _ = parse_scenario(data)
    plan = plan_with_finance(scenario)
    assert plan.status == "optimal"
    inst = plan.tables["funding_instruments"]
    paid = inst[(inst["partner"] == "wholesale") & (inst["instrument"] == "maker_dd")]
    received = inst[(inst["partner"] == "maker") & (inst["instrument"] == "maker_dd@wholesale")]
    assert len(paid) == len(received) == scenario.time.periods
    assert paid["paid_early_face"].sum() > 1_000
    assert paid["paid_early_face"].sum() == pytest.approx(received["paid_early_face"].sum(), abs=1e-6)
    fin = plan.kpis["finance"]
    assert fin["partners"]["wholesale"]["discounts_taken"] == pytest.approx(
        fin["partners"]["maker"]["discounts_given"], abs=1e-6)
    assert_conserved(funding_result_of(plan))
    data["finance"]["partners"][-1]["instruments"][0]["supplier"] = "shops"
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert any(p.path == "finance.partners[1].instruments[0].supplier" and "not a supplier of 'wholesale'" in p.message
               for p in exc.value.problems), exc.value.problems


def test_an_offer_shorter_than_a_period_is_a_warning():
    """20 days early on monthly periods (30.4 days) leaves no period to pay in: a warning naming
    the field, and nothing is paid early."""
    flows = pd.DataFrame({"partner": "b", "period": [0, 1, 2], "operating_cash_flow": [0.0, 0.0, -1_000.0]})
    payables = pd.DataFrame({"partner": ["b"], "period": [2], "supplier": ["acme"], "amount": [1_000.0]})
    spec = parse_finance_spec({"partners": [{"partner": "b", "opening_cash": 5_000, "instruments": [
        {"id": "dd", "type": "dynamic_discount", "supplier": "acme", "apr": 0.18, "max_days_early": 20}]}]})
    res = size_funding(make_cashflow_table(flows, payables_due=payables, periods_per_year=12), spec)
    warned = [w for w in res.warnings if w.path == "partners[0].instruments[0].max_days_early"]
    assert warned and "less than one period (30.4 days)" in warned[0].message
    assert res.status == "optimal" and res.kpis["partners"]["b"]["discounts_taken"] == 0.0
