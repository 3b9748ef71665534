"""Bad finance input gets a clear error naming the field; good input is read as documented."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from finance.cashflows import make_cashflow_table, read_cashflows_csv, cashflows_from_plan
from finance.collateral import parse_age_bucket
from finance.sizing import size_funding
from scenarios.finance import FinanceError, finance_json_schema, load_finance_spec, parse_finance_spec

FIN = Path(__file__).parent / "instances" / "finance"


def _errors(exc: FinanceError) -> dict[str, str]:
    return {p.path: p.message for p in exc.problems if p.severity == "error"}


def _one(instrument: dict, **partner) -> dict:
    return {"partners": [{"partner": "acme", "instruments": [instrument], **partner}]}


def _flows(T: int = 3, partner: str = "acme") -> pd.DataFrame:
    return pd.DataFrame({"partner": partner, "period": list(range(T)), "operating_cash_flow": [0.0] * T})


# ---------------------------------------------------------------------------------------------
# The spec
# ---------------------------------------------------------------------------------------------


def test_negative_rates_are_named():
    with pytest.raises(FinanceError) as e:
        parse_finance_spec(_one({"id": "rcf", "type": "revolver", "limit": 100, "rate": -0.01}))
    assert "must not be negative" in _errors(e.value)["partners[0].instruments[0].rate"]
    with pytest.raises(FinanceError) as e:
        parse_finance_spec(_one({"id": "f", "type": "factoring", "advance_rate": 0.8, "discount_rate": [0.01, -0.02]}))
    assert "partners[0].instruments[0].discount_rate[1]" in _errors(e.value)
    with pytest.raises(FinanceError) as e:
        parse_finance_spec({"partners": [{"partner": "acme", "deposit_rate": -0.001}]})
    assert "partners[0].deposit_rate" in _errors(e.value)


def test_advance_rates_over_100_percent():
    cases = [
        ({"id": "abl", "type": "asset_based", "rate": 0.01, "receivables_advance_rate": 1.2}, "receivables_advance_rate"),
        ({"id": "abl", "type": "asset_based", "rate": 0.01, "receivables_advance_rate": 0.8, "inventory_advance_rate": 1.5}, "inventory_advance_rate"),
        ({"id": "f", "type": "factoring", "advance_rate": 1.05, "discount_rate": 0.01}, "advance_rate"),
        ({"id": "inv", "type": "inventory_loan", "loan_to_value": 1.1, "rate": 0.01}, "loan_to_value"),
        ({"id": "rf", "type": "reverse_factoring", "buyer": "x", "rate": 0.01, "advance_rate": 2}, "advance_rate"),
    ]
    for inst, name in cases:
        with pytest.raises(FinanceError) as e:
            parse_finance_spec(_one(inst))
        msg = _errors(e.value)[f"partners[0].instruments[0].{name}"]
        assert "over 100 %" in msg, msg
    # every problem of a file at once
    with pytest.raises(FinanceError) as e:
        parse_finance_spec({"partners": [{"partner": "acme", "instruments": [c for c, _ in cases[:1]] + [
            {"id": "rcf", "type": "revolver", "limit": 1, "rate": -1}]}]})
    assert len(_errors(e.value)) == 2


def test_reverse_factoring_buyer_must_be_a_customer():
    spec = _one({"id": "rf", "type": "reverse_factoring", "buyer": "megamart", "rate": 0.004}, customers=["bigmart", "corner"])
    with pytest.raises(FinanceError) as e:
        parse_finance_spec(spec)
    msg = _errors(e.value)["partners[0].instruments[0].buyer"]
    assert "'megamart' is not a customer of 'acme'" in msg and "bigmart" in msg
    # customers known from the receivables file
    rec = pd.DataFrame({"partner": "acme", "period": [0, 1, 2], "customer": "bigmart", "age_days": 30, "amount": 10.0})
    table = make_cashflow_table(_flows(), rec)
    ok_without_customers = parse_finance_spec(_one({"id": "rf", "type": "reverse_factoring", "buyer": "megamart", "rate": 0.004}))
    with pytest.raises(FinanceError) as e:
        size_funding(table, ok_without_customers)
    assert "not a customer" in _errors(e.value)["partners[0].instruments[0].buyer"]


def test_reverse_factoring_buyer_against_a_plan(small_chain_plan):
    """In the small chain the maker sells only to the wholesaler: the retailer cannot run a
    reverse-factoring programme for the maker."""
    _, plan = small_chain_plan
    table = cashflows_from_plan(plan)
    spec = parse_finance_spec({"partners": [{"partner": "maker", "instruments": [
        {"id": "rf", "type": "reverse_factoring", "buyer": "shops", "rate": 0.004}]}]})
    with pytest.raises(FinanceError) as e:
        size_funding(table, spec)
    assert "'shops' is not a customer of 'maker' (its customers: wholesale)" in str(e.value)


def test_other_spec_errors():
    bad = {
        "partners": [
            {"partner": "acme", "instruments": [
                {"id": "x", "type": "revolver", "limit": 10, "rate": 0.01, "draw_from": 3, "draw_until": 1},
                {"id": "x", "type": "early_payment_discount", "discount": 0.02, "discount_days": 30, "net_days": 10},
                {"id": "cp", "type": "fixed_tenor", "tenor": 3, "rate": 0.01, "tenor_rate": 0.02},
                {"id": "big", "type": "fixed_tenor", "tenor": 1, "min_amount": 100, "max_amount": 50},
            ]},
            {"partner": "acme"},
        ]
    }
    with pytest.raises(FinanceError) as e:
        parse_finance_spec(bad)
    errs = _errors(e.value)
    assert "before draw_from" in errs["partners[0].instruments[0].draw_until"]
    assert "used twice" in errs["partners[0].instruments[1].id"]
    assert "must be after the discount period" in errs["partners[0].instruments[1].net_days"]
    assert "not both" in errs["partners[0].instruments[2].tenor_rate"]
    assert "below min_amount" in errs["partners[0].instruments[3].max_amount"]
    assert "listed twice" in errs["partners[1].partner"]


SAME_CHECKS = [  # maker's instruments in small_chain; each is wrong in itself, whatever it funds
    [{"id": "rcf", "type": "revolver", "limit": 1000, "rate": -0.01}],
    [{"id": "abl", "type": "asset_based", "rate": 0.01, "receivables_advance_rate": 85}],
    [{"id": "x", "type": "revolver", "limit": 10, "rate": 0.01, "draw_from": 3, "draw_until": 1},
     {"id": "x", "type": "fixed_tenor", "tenor": 3, "rate": 0.01, "tenor_rate": 0.02}],
    [{"id": "e1", "type": "early_payment_discount", "discount": 0.02, "discount_days": 10, "net_days": 30},
     {"id": "e2", "type": "early_payment_discount", "discount": 0.01, "discount_days": 5, "net_days": 30}],
    [{"id": "rf", "type": "reverse_factoring", "buyer": "maker", "rate": 0.004}],
    # structural errors: pydantic's, turned into paths by the one reader of both
    [{"id": "x", "type": "magic_money"}],
    [{"id": "x", "limit": 1, "rate": 0.1}],
    [{"id": "x", "type": "revolver", "limit": 1, "rate": 0.1, "colour": "red"}],
    [{"id": "x", "type": "revolver", "limit": "lots", "rate": 0.1}],
]


@pytest.mark.parametrize("instruments", SAME_CHECKS)
def test_a_spec_and_a_scenario_finance_section_get_the_same_checks(instruments):
    """One set of checks: the same partner entry gives the same errors, field and reason, in a
    finance spec and in a scenario's finance section (whose paths start with ``finance.``)."""
    from conftest import example
    from scenarios.io import parse_scenario
    from scenarios.validation import ScenarioError

    entry = {"partner": "maker", "instruments": instruments}
    with pytest.raises(FinanceError) as e:
        parse_finance_spec({"partners": [entry]})
    in_spec = sorted((p.path, p.message) for p in e.value.problems if p.severity == "error")
    data = example("small_chain")
    data["finance"] = {"partners": [entry]}
    with pytest.raises(ScenarioError) as s:
        parse_scenario(data)
    in_scenario = sorted((p.path.removeprefix("finance."), p.message) for p in s.value.problems if p.severity == "error")
    assert in_spec and in_spec == in_scenario


def test_structural_errors_name_the_field(tmp_path):
    with pytest.raises(FinanceError) as e:
        parse_finance_spec(_one({"id": "x", "type": "magic_money"}))
    assert "unknown instrument type" in _errors(e.value)["partners[0].instruments[0]"]
    with pytest.raises(FinanceError) as e:
        parse_finance_spec(_one({"id": "x", "type": "revolver", "limit": 1, "rate": 0.1, "colour": "red"}))
    assert _errors(e.value)["partners[0].instruments[0].colour"] == "unknown field"
    with pytest.raises(FinanceError) as e:
        parse_finance_spec(_one({"id": "x", "type": "revolver", "limit": 1}))
    assert "partners[0].instruments[0].rate" in _errors(e.value)
    with pytest.raises(FinanceError):
        load_finance_spec(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("partners: [unclosed")
    with pytest.raises(FinanceError) as e:
        load_finance_spec(tmp_path / "bad.yaml")
    assert "cannot parse" in str(e.value)


def test_spec_and_table_disagree():
    spec = parse_finance_spec({"partners": [
        {"partner": "ghost"},
        {"partner": "acme", "min_cash": [1, 2], "instruments": [
            {"id": "rcf", "type": "revolver", "limit": [5, 5, 5, 5], "rate": 0.01},
            {"id": "f", "type": "factoring", "advance_rate": 0.8, "discount_rate": 0.01},
            {"id": "inv", "type": "inventory_loan", "loan_to_value": 0.5, "rate": 0.01},
            {"id": "epd", "type": "early_payment_discount", "discount": 0.02, "discount_days": 10, "net_days": 30},
        ]},
    ]})
    with pytest.raises(FinanceError) as e:
        size_funding(make_cashflow_table(_flows(3)), spec)
    errs = _errors(e.value)
    assert "'ghost' is not in the cash-flow table" in errs["partners[0].partner"]
    assert "has 2 values but the cash-flow table has 3 periods" in errs["partners[1].min_cash"]
    assert "has 4 values" in errs["partners[1].instruments[0].limit"]
    assert "needs receivables" in errs["partners[1].instruments[1]"]
    assert "needs inventory" in errs["partners[1].instruments[2]"]
    assert "payables" in errs["partners[1].instruments[3]"]


def test_schema_states_units():
    schema = finance_json_schema()
    rcf = schema["$defs"]["RevolvingCredit"]["properties"]
    assert rcf["rate"]["unit"] == "1/period" and "[1/period]" in rcf["rate"]["description"]
    assert schema["$defs"]["FixedTenorLoan"]["properties"]["tenor"]["unit"] == "periods"


# ---------------------------------------------------------------------------------------------
# The cash-flow table
# ---------------------------------------------------------------------------------------------


def test_gap_in_the_cash_flow_table():
    flows = pd.concat([_flows(4, "acme"), _flows(4, "beta")]).reset_index(drop=True)
    flows = flows[~((flows["partner"] == "beta") & flows["period"].isin([1, 2]))]
    with pytest.raises(FinanceError) as e:
        make_cashflow_table(flows)
    msg = _errors(e.value)["cashflows[partner=beta].period"]
    assert "gap in the cash-flow table" in msg and "1, 2" in msg and "0..3" in msg


def test_other_table_errors(tmp_path):
    with pytest.raises(FinanceError) as e:
        make_cashflow_table(pd.DataFrame({"partner": ["a"], "period": [0]}))
    assert "missing column(s): operating_cash_flow" in str(e.value)
    with pytest.raises(FinanceError) as e:
        make_cashflow_table(pd.DataFrame({"partner": ["a", "a"], "period": [0, 0], "operating_cash_flow": [1, 2]}))
    assert "two rows for period 0" in str(e.value)
    with pytest.raises(FinanceError) as e:
        make_cashflow_table(pd.DataFrame({"partner": ["a"], "period": [0], "operating_cash_flow": ["lots"]}))
    assert "'lots' is not a number" in str(e.value)
    with pytest.raises(FinanceError) as e:
        make_cashflow_table(pd.DataFrame({"partner": ["a"], "period": [0], "operating_cash_flow": [1], "receivables": [-5]}))
    assert "cashflows.receivables" in _errors(e.value)
    with pytest.raises(FinanceError) as e:
        make_cashflow_table(pd.DataFrame({"partner": ["a"], "period": [0], "operating_cash_flow": [None]}))
    assert "no value for partner 'a' in period 0" in str(e.value)
    rec = pd.DataFrame({"partner": ["a"], "period": [0], "customer": ["c"], "age_days": [10], "amount": [50.0]})
    with pytest.raises(FinanceError) as e:
        make_cashflow_table(pd.DataFrame({"partner": ["a"], "period": [0], "operating_cash_flow": [1], "receivables": [60.0]}), rec)
    assert "adds up to 50.00 but the cash-flow table says 60.00" in str(e.value)
    with pytest.raises(FinanceError) as e:
        make_cashflow_table(_flows(1, "a"), rec.assign(partner="zz", period=5))
    errs = _errors(e.value)
    assert "zz" in errs["receivables.partner"] and "outside the horizon" in errs["receivables.period"]
    with pytest.raises(FinanceError):
        read_cashflows_csv(tmp_path / "nope.csv")
    with pytest.raises(FinanceError) as e:
        cashflows_from_plan({"status": "infeasible", "tables": {}})
    assert "no solution" in str(e.value)


def test_csv_reading_and_ageing_buckets(tmp_path):
    (tmp_path / "cf.csv").write_text("Partner, Period, Net_Operating_Cash_Flow, Inventory_Value\nacme,0,-10,5\nacme,1,20,5\n")
    (tmp_path / "ar.csv").write_text(
        "partner,period,customer,age_bucket,amount\nacme,0,x,0-30,7\nacme,0,y,91+,3\nacme,1,x,31-60,4\n"
    )
    table = read_cashflows_csv(tmp_path / "cf.csv", receivables=tmp_path / "ar.csv", periods_per_year=52)
    assert table.T == 2 and table.periods_per_year == 52
    assert table.series("acme", "receivables").tolist() == [10.0, 4.0]
    assert table.series("acme", "inventory").tolist() == [5.0, 5.0]
    assert table.customers_of("acme") == ["x", "y"]
    assert parse_age_bucket("0-30") == 30 and parse_age_bucket("61 - 90 days") == 90
    assert math.isinf(parse_age_bucket("91+")) and math.isinf(parse_age_bucket(">90"))
    assert math.isinf(parse_age_bucket("over 90")) and parse_age_bucket(45) == 45
    with pytest.raises(ValueError):
        parse_age_bucket("ancient")


def test_the_bundled_instances_load():
    spec = load_finance_spec(FIN / "small_chain_finance.yaml")
    assert {p.partner for p in spec.partners} == {"maker", "wholesale", "haul", "shops"}
    assert load_finance_spec(FIN / "short_term_financing.yaml").periods_per_year == 12
