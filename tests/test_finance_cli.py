"""The funding commands: `jointplan fund PLAN.json|CASHFLOWS.csv`, `jointplan compare-finance`,
and the helpers `plan --finance` and `demo` call. Exit codes: 2 bad input (naming the field),
3 no funding possible (with the diagnosis)."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import typer
import yaml
from rich.console import Console
from typer.testing import CliRunner

from conftest import example
from jointplan import finance_cli
from jointplan.cli import app as main_app
from scenarios.io import parse_scenario

FIN = Path(__file__).parent / "instances" / "finance"
runner = CliRunner()


def _app() -> typer.Typer:
    """The jointplan app once the lead has wired ``register`` into it; until then a local app with
    the same consoles."""
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in main_app.registered_commands}
    if "fund" in names:
        return main_app
    app = typer.Typer()
    finance_cli.register(app, Console(width=120), Console(stderr=True, width=120))
    return app


app = _app()


@pytest.fixture(scope="module")
def plan_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "plan.json"
    result = runner.invoke(main_app, ["plan", "small_chain", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


# ---------------------------------------------------------------------------------------------
# fund
# ---------------------------------------------------------------------------------------------


def test_fund_plan_uses_the_instruments_its_scenario_recorded(plan_json, tmp_path):
    out, xlsx = tmp_path / "funding.json", tmp_path / "funding.xlsx"
    result = runner.invoke(app, ["fund", str(plan_json), "--out", str(out), "--xlsx", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert "status optimal" in result.output and "Funding per partner" in result.output
    assert "maker" in result.output and "87,410@1" in result.output  # peak need of maker, period 1
    data = json.loads(out.read_text())
    assert data["status"] == "optimal"
    assert {"partners", "cash", "instruments"} <= set(data["tables"])
    assert data["kpis"]["partners"]["maker"]["funded"] is True
    # the plan's report with the funding sized for it: summary, funding sheets, then the plan's tables
    names = openpyxl.load_workbook(xlsx, read_only=True).sheetnames
    assert names[:4] == ["Summary", "Funding", "Funding cash", "Funding instruments"]
    assert {"Production", "Cash"} <= set(names)


def test_fund_plan_with_instruments_file(plan_json, tmp_path):
    out = tmp_path / "funding.json"
    result = runner.invoke(app, ["fund", str(plan_json), "--instruments", str(FIN / "small_chain_finance.yaml"),
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert {"bank_rcf", "abl", "buyer_scf", "platform_loan"} <= set(data["kpis"]["partners"]["maker"]["instruments"])


def test_fund_cashflow_csv_textbook(tmp_path):
    """Cornuejols & Tutuncu section 3.1 through the command: wealth at the end of June 92.497."""
    out, xlsx = tmp_path / "funding.json", tmp_path / "funding.xlsx"
    result = runner.invoke(app, ["fund", str(FIN / "short_term_financing.csv"), "--instruments",
                                 str(FIN / "short_term_financing.yaml"), "--out", str(out), "--xlsx", str(xlsx)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["objective"] == pytest.approx(92.497, abs=1e-3)
    # a cash forecast has no plan: the workbook starts with the funding
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames[:3] == ["Funding", "Funding cash", "Funding instruments"]
    facts = {r[0]: r[1] for r in book["Funding"].iter_rows(min_row=3, max_row=12, max_col=2, values_only=True) if r[0]}
    objective = [v for k, v in facts.items() if k.startswith("Objective: max ending cash")]
    assert objective and objective[0] == pytest.approx(92.497, abs=1e-3), facts


def test_fund_plan_without_recorded_instruments_needs_instruments(tmp_path):
    data = example("small_chain")
    data.pop("finance")
    scn = _write(tmp_path / "bare.yaml", data)
    plan = tmp_path / "plan.json"
    assert runner.invoke(main_app, ["plan", str(scn), "--out", str(plan)]).exit_code == 0
    result = runner.invoke(app, ["fund", str(plan), "--out", str(tmp_path / "f.json")])
    assert result.exit_code == 2
    assert "--instruments is required" in result.output and "Traceback" not in result.output
    # a cash-flow CSV without instruments: the working-capital days only, no funding (issue 17)
    result = runner.invoke(app, ["fund", str(FIN / "short_term_financing.csv"), "--out", str(tmp_path / "f.json")])
    assert result.exit_code == 0 and "no instruments were given" in " ".join(result.output.split())


@pytest.mark.parametrize(
    "instrument, path, words",
    [
        ({"id": "rcf", "type": "revolver", "limit": 1000, "rate": -0.01}, "partners[0].instruments[0].rate", "must not be negative"),
        ({"id": "abl", "type": "asset_based", "rate": 0.01, "receivables_advance_rate": 1.2},
         "partners[0].instruments[0].receivables_advance_rate", "over 100 %"),
        ({"id": "scf", "type": "reverse_factoring", "buyer": "shops", "rate": 0.004},
         "partners[0].instruments[0].buyer", "'shops' is not a customer of 'maker'"),
        ({"id": "x", "type": "swap", "rate": 0.01}, "partners[0].instruments[0]", "unknown instrument type"),
    ],
)
def test_fund_bad_instruments_exit_2_naming_the_field(plan_json, tmp_path, instrument, path, words):
    spec = _write(tmp_path / "fin.yaml", {"partners": [{"partner": "maker", "instruments": [instrument]}]})
    result = runner.invoke(app, ["fund", str(plan_json), "--instruments", str(spec), "--out", str(tmp_path / "f.json")])
    assert result.exit_code == 2, result.output
    assert path in result.output and words in result.output
    assert "Traceback" not in result.output


def test_fund_cashflow_table_with_a_gap_exits_2(tmp_path):
    flows = pd.read_csv(FIN / "short_term_financing.csv")
    flows = flows[flows["period"] != 3]
    csv = tmp_path / "gap.csv"
    flows.to_csv(csv, index=False)
    result = runner.invoke(app, ["fund", str(csv), "--instruments", str(FIN / "short_term_financing.yaml"),
                                 "--out", str(tmp_path / "f.json")])
    assert result.exit_code == 2
    assert "cashflows[partner=company].period" in result.output and "gap" in result.output


def test_fund_bad_files_and_options_exit_2(plan_json, tmp_path):
    out = str(tmp_path / "f.json")
    assert runner.invoke(app, ["fund", str(tmp_path / "none.json"), "--out", out]).exit_code == 2
    (tmp_path / "bad.json").write_text("{nope")
    result = runner.invoke(app, ["fund", str(tmp_path / "bad.json"), "--out", out])
    assert result.exit_code == 2 and "cannot parse" in result.output
    assert runner.invoke(app, ["fund", str(tmp_path / "plan.txt"), "--out", out]).exit_code == 2
    assert runner.invoke(app, ["fund", str(plan_json)]).exit_code == 2  # --out is required
    result = runner.invoke(app, ["fund", str(plan_json), "--out", out, "--objective", "cheapest"])
    assert result.exit_code == 2 and "--objective" in result.output
    result = runner.invoke(app, ["fund", str(plan_json), "--out", out, "--instruments", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "file not found" in " ".join(result.output.split())  # across rich's line wraps


def test_fund_no_funding_possible_exits_3_with_diagnosis(plan_json, tmp_path):
    spec = _write(tmp_path / "small.yaml", {"partners": [{"partner": "maker", "instruments": [
        {"id": "rcf", "type": "revolver", "limit": 20000, "rate": 0.01}]}]})
    out = tmp_path / "f.json"
    result = runner.invoke(app, ["fund", str(plan_json), "--instruments", str(spec), "--out", str(out)])
    assert result.exit_code == 3, result.output
    assert "maker is short" in result.output
    data = json.loads(out.read_text())  # the best effort and the diagnosis are kept
    assert data["status"] == "infeasible" and data["diagnosis"]["partners"]["maker"]["peak_period"] == 1


# ---------------------------------------------------------------------------------------------
# compare-finance
# ---------------------------------------------------------------------------------------------


def test_compare_finance_prints_both_answers_and_the_whatif(tmp_path):
    out = tmp_path / "cmp.json"
    result = runner.invoke(app, ["compare-finance", "small_chain", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Joint vs sequential" in result.output and "chain profit after financing" in result.output
    assert "Reverse-factoring what-if" in result.output and "maker's financing cost by -" in result.output
    data = json.loads(out.read_text())
    assert data["comparison"]["sequential"]["status"] == data["comparison"]["joint"]["status"] == "optimal"
    assert data["comparison"]["difference"]["chain_profit"] >= -1e-6
    rows = {(r["mode"], r["programme"]): r for r in data["reverse_factoring_whatif"]["rows"]}
    assert rows["joint", "with"]["supplier_financing_cost"]["maker"] < rows["joint", "without"]["supplier_financing_cost"]["maker"]


def test_compare_finance_when_plan_then_fund_cannot_be_funded(tmp_path):
    data = example("small_chain")
    insts = data["finance"]["partners"][0]["instruments"]
    data["finance"]["partners"][0]["instruments"] = [
        {**i, "limit": 30000} if i["id"] == "abl" else i for i in insts if i["id"] in ("rcf", "abl")
    ]
    scn = _write(tmp_path / "tight.yaml", data)
    result = runner.invoke(app, ["compare-finance", str(scn)])
    assert result.exit_code == 0, result.output
    assert "the sequential plan cannot be funded" in result.output and "maker is short" in result.output
    assert "No reverse-factoring programme" in result.output


def test_compare_finance_bad_input_exits_2(tmp_path):
    data = example("small_chain")
    data.pop("finance")
    result = runner.invoke(app, ["compare-finance", str(_write(tmp_path / "bare.yaml", data))])
    assert result.exit_code == 2 and "no finance section" in result.output
    data = example("small_chain")
    data["finance"]["partners"][0]["partner"] = "bank"
    result = runner.invoke(app, ["compare-finance", str(_write(tmp_path / "bad.yaml", data))])
    assert result.exit_code == 2 and "finance.partners[0].partner" in result.output
    assert runner.invoke(app, ["compare-finance", str(tmp_path / "none.yaml")]).exit_code == 2


# ---------------------------------------------------------------------------------------------
# What `plan --finance` and `demo` call
# ---------------------------------------------------------------------------------------------


def test_plan_command_finance_and_its_summary():
    scenario, _ = parse_scenario(example("small_chain"))
    plan = finance_cli.plan_command_finance(scenario, time_limit=None, mip_gap=None, warnings=[], progress=None, verbose=False)
    assert plan.status == "optimal"
    assert {"funding_partners", "funding_cash", "funding_instruments"} <= set(plan.tables)
    console = Console(record=True, width=130)
    finance_cli.print_plan_funding(console, plan)
    text = console.export_text()
    assert "Funding chosen with the plan" in text and "Instrument mix" in text
    json.dumps(plan.to_dict(), default=str)
    data = example("small_chain")
    data.pop("finance")
    bare, _ = parse_scenario(data)
    with pytest.raises(typer.Exit) as exc:
        finance_cli.plan_command_finance(bare)
    assert exc.value.exit_code == 2


def test_demo_finance_steps_print_funding_and_comparison(small_chain_plan, tmp_path):
    from jointplan import demo

    scenario, plan = small_chain_plan
    console = Console(record=True, width=130)
    run = demo.DemoRun(tmp_path, True, console, console, facts={"plan": plan})
    (tmp_path / "small_chain.consensus.yaml").write_text(yaml.safe_dump(example("small_chain")))  # the demo's file
    assert demo.funding(run) and demo.finance_choices(run)
    assert run.facts["funding"].funded
    text = console.export_text()
    for words in ("Funding per partner", "Joint vs sequential", "Reverse-factoring what-if"):
        assert words in text, words
    # planning with finance is shown on credit_chain, where it pays, with what the joint plan does
    assert "Joint vs sequential planning, credit-chain" in text
    assert "planning with finance adds" in text and "What the joint plan does differently" in text
    assert "Production moves later" in text and "Binding in the sequential answer" in text
    assert "the joint plan is the sequential plan here" not in text


def test_fund_periods_per_year_conflicting_with_the_instruments_file_exits_2(tmp_path):
    """The instruments file sets periods_per_year: 12; --periods-per-year 52 used to be ignored
    silently. A conflict is an error naming both; the same value is fine."""
    out = tmp_path / "funding.json"
    args = ["fund", str(FIN / "short_term_financing.csv"), "--instruments", str(FIN / "short_term_financing.yaml"),
            "--out", str(out)]
    result = runner.invoke(app, [*args, "--periods-per-year", "52"])
    assert result.exit_code == 2, result.output
    assert "--periods-per-year 52" in result.output and "periods_per_year: 12" in result.output
    assert "short_term_financing.yaml" in result.output.replace("\n", "")
    assert not out.exists()
    result = runner.invoke(app, [*args, "--periods-per-year", "12"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["objective"] == pytest.approx(92.497, abs=1e-3)


def test_fund_cashflow_csv_without_instruments_prints_working_capital_days(tmp_path):
    """Only DSO/DIO/DPO/CCC wanted: no --instruments. A year of 12 months (30.4 days each):
    sales 120 a year and receivables 20 -> DSO 20/120*365 = 60.8; cogs 96, inventory 16 ->
    DIO 60.8; payables 8 -> DPO 30.4; CCC 60.8 + 60.8 - 30.4 = 91.3 days."""
    csv = tmp_path / "cf.csv"
    pd.DataFrame({"partner": "shop", "period": range(12), "operating_cash_flow": 2.0, "sales": 10.0, "cogs": 8.0,
                  "receivables": 20.0, "inventory": 16.0, "payables": 8.0}).to_csv(csv, index=False)
    out = tmp_path / "wc.json"
    result = runner.invoke(app, ["fund", str(csv), "--out", str(out), "--periods-per-year", "12"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "DSO" in text and "CCC" in text and "shop 61 61 30 91" in text, text
    assert "no funding sized" in text.lower() and "no instruments were given" in text
    k = json.loads(out.read_text())["working_capital"]["partners"]["shop"]
    assert k["days_sales_outstanding"] == pytest.approx(20 / 120 * 365)
    assert k["days_payables_outstanding"] == pytest.approx(8 / 96 * 365)
    assert k["cash_conversion_cycle_days"] == pytest.approx(20 / 120 * 365 + 16 / 96 * 365 - 8 / 96 * 365)


def _epd_funding():
    """A buyer owes acme 10,000 in period 2 on 2/10 net 30 (one period earlier at 9,800) and has a
    1 % revolver: it pays early (tests/test_finance_textbook.py::_epd_case)."""
    from finance.cashflows import make_cashflow_table
    from finance.sizing import size_funding
    from scenarios.finance import parse_finance_spec

    flows = pd.DataFrame({"partner": "buyer", "period": [0, 1, 2, 3], "operating_cash_flow": 0.0})
    payables = pd.DataFrame({"partner": ["buyer"], "period": [2], "supplier": ["acme"], "amount": [10_000.0]})
    table = make_cashflow_table(flows, payables_due=payables, periods_per_year=12)
    spec = parse_finance_spec({"partners": [{"partner": "buyer", "opening_cash": 0, "instruments": [
        {"id": "rcf", "type": "revolver", "limit": 50_000, "rate": 0.01},
        {"id": "acme_terms", "type": "early_payment_discount", "supplier": "acme", "discount": 0.02,
         "discount_days": 10, "net_days": 30, "shift_periods": 1}]}]})
    return size_funding(table, spec)


def test_early_payment_discount_is_a_payment_brought_forward_not_drawn_credit():
    """The 10,000 paid early used to show as "drawn 10,000" like a loan."""
    result = _epd_funding()
    mix = result.kpis["partners"]["buyer"]["instruments"]
    assert mix["acme_terms"]["drawn"] == pytest.approx(10_000.0)  # the JSON key stays
    assert "payment brought forward" in mix["acme_terms"]["label"] and "not borrowing" in mix["acme_terms"]["label"]
    assert "not borrowing" not in mix["rcf"]["label"]
    console = Console(record=True, width=200)
    finance_cli.print_funding(console, result)
    line = next(x for x in console.export_text().splitlines() if "acme_terms" in x)
    assert "10,000 paid early (not borrowing)" in line, line


def test_cost_of_forgoing_an_early_payment_discount_is_reported(tmp_path):
    """Textbook figure (e.g. Brealey, Myers & Allen; Ross, Westerfield & Jordan), 365-day year:
    2/10 net 30 -> 2/98 x 365/20 = 37.24 % simple, (1 + 2/98)^(365/20) - 1 = 44.59 % effective.
    Reported for every early-payment discount: JSON, terminal and workbook."""
    result = _epd_funding()
    i = result.kpis["partners"]["buyer"]["instruments"]["acme_terms"]
    assert i["terms"] == "2/10 net 30"
    assert i["forgone_discount_simple_rate"] == pytest.approx(0.3724, abs=5e-5)
    assert i["forgone_discount_effective_rate"] == pytest.approx(0.4459, abs=5e-5)
    assert "forgone_discount_simple_rate" not in result.kpis["partners"]["buyer"]["instruments"]["rcf"]
    out = tmp_path / "f.json"
    result.write_json(out)
    saved = json.loads(out.read_text())["kpis"]["partners"]["buyer"]["instruments"]["acme_terms"]
    assert saved["forgone_discount_effective_rate"] == pytest.approx(0.4459, abs=5e-5)
    console = Console(record=True, width=200)
    finance_cli.print_funding(console, result)
    text = console.export_text()
    assert "acme_terms (2/10 net 30): forgoing the discount costs 37.24% a year simple, 44.59% effective" in text, text
    xlsx = tmp_path / "f.xlsx"
    result.write_excel(xlsx)
    values = [v for row in openpyxl.load_workbook(xlsx)["Funding"].iter_rows(values_only=True) for v in row]
    assert "Cost of forgoing the discount a year (effective)" in " ".join(str(v) for v in values if v)
    assert any(isinstance(v, float) and abs(v - 0.4459) < 5e-5 for v in values)


def test_short_because_of_opening_balances_says_so(tmp_path):
    """A cash forecast with no cash need (every operating flow 0, peak need 0) and two balances
    from before the horizon: a revolver drawn 1,000,000 that must be repaid by the end, and a
    fixed-tenor loan with a 500,000 repayment due in period 1 (rolled over at 1 % a month until
    the end: 500,000 x 1.01^2 = 510,050 due in period 3). Short 1,510,050 in period 3. The message says what is short and why: the opening balances, by instrument,
    amount and when they fall due, with the operations needing nothing."""
    csv = tmp_path / "cash.csv"
    csv.write_text("partner,period,operating_cash_flow\np,0,0\np,1,0\np,2,0\np,3,0\n")
    spec = _write(tmp_path / "lines.yaml", {"partners": [{"partner": "p", "opening_cash": 0, "instruments": [
        {"id": "rcf", "type": "revolver", "limit": 1_000_000, "rate": 0.0, "opening_balance": 1_000_000},
        {"id": "term", "type": "fixed_tenor", "tenor": 1, "rate": 0.01, "opening_repayments": [0, 500_000]},
    ]}]})
    out = tmp_path / "funding.json"
    result = runner.invoke(app, ["fund", str(csv), "--instruments", str(spec), "--out", str(out)])
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())  # across rich's line wraps
    assert "p is short from period 3 to 3, by up to 1,510,050.00 (period 3)" in text, text
    assert "its operations need no funding (peak need 0.00)" in text, text
    assert ("what is short is the opening balances to repay within the horizon: rcf (revolver) 1,000,000.00 "
            "by period 3, the end of the horizon (at_end: repay), term (fixed_tenor) 500,000.00 in period 1") in text, text
    diag = json.loads(out.read_text())["diagnosis"]["partners"]["p"]
    assert diag["peak_funding_need"] == 0.0
    assert diag["opening_balances_due"] == [
        {"instrument": "rcf", "type": "revolver", "amount": 1_000_000.0, "period": 3},
        {"instrument": "term", "type": "fixed_tenor", "amount": 500_000.0, "period": 1},
    ]
    # with an operating need as well, the opening balance is named as adding to it
    from finance.cashflows import make_cashflow_table
    from finance.sizing import size_funding
    from scenarios.finance import parse_finance_spec

    table = make_cashflow_table(pd.DataFrame({"partner": "p", "period": [0, 1, 2, 3],
                                              "operating_cash_flow": [-100.0, 0.0, 0.0, 0.0]}), periods_per_year=12)
    res = size_funding(table, parse_finance_spec({"partners": [{"partner": "p", "opening_cash": 0, "instruments": [
        {"id": "rcf", "type": "revolver", "limit": 1_000, "rate": 0.0, "opening_balance": 1_000}]}]}))
    assert res.diagnosis["message"] == (
        "no mix of the instruments funds the plan: p is short from period 0 to 3, by up to 1,100.00 (period 3), "
        "with the opening balance to repay within the horizon on top of its operating need: rcf (revolver) "
        "1,000.00 by period 3, the end of the horizon (at_end: repay)")
