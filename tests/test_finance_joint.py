"""Planning with finance: the scenario's finance section, the joint model (operations and funding
chosen together through the planning extension hook), joint against sequential, and the
reverse-factoring what-if - on the bundled small_chain."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from conftest import example, solve
from finance.cashflows import cashflows_from_plan
from finance.compare import joint_vs_sequential, reverse_factoring_whatif, sequential_answer
from finance.extension import (
    FinanceExtension,
    collection_rates_from_plan,
    joint_scenario,
    operations_only,
    plan_with_finance,
)
from finance.sizing import prepare, size_plan_funding
from planning.data import compile_data
from planning.model import build_model
from planning.plan import plan_scenario
from planning.solve import compile_model
from scenarios.finance import FinanceError, finance_spec_from_scenario, load_finance_spec
from scenarios.io import parse_scenario
from scenarios.validation import ScenarioError
from test_finance_sizing import FIN, assert_conserved


def scenario_with(finance=None, drop=False):
    data = example("small_chain")
    if drop:
        data.pop("finance", None)
    elif finance is not None:
        data["finance"] = finance
    return parse_scenario(data)[0]


@pytest.fixture(scope="module")
def small():
    return scenario_with()


@pytest.fixture(scope="module")
def comparison(small):
    return joint_vs_sequential(small)


def maker_instruments(**changes):
    """small_chain's finance section with maker's instruments changed: id -> None drops it,
    id -> dict updates it."""
    fin = copy.deepcopy(example("small_chain")["finance"])
    insts = []
    for inst in fin["partners"][0]["instruments"]:
        change = changes.get(inst["id"], {})
        if change is None:
            continue
        insts.append({**inst, **change})
    fin["partners"][0]["instruments"] = insts
    return fin


# ---------------------------------------------------------------------------------------------
# The scenario's finance section
# ---------------------------------------------------------------------------------------------


def test_finance_section_is_ignored_by_plain_planning(small, small_chain_plan):
    """`plan small_chain` gives the same plan with or without the finance section; the plan
    records the instruments so `jointplan fund PLAN.json` finds them."""
    _, plan = small_chain_plan
    bare = plan_scenario(scenario_with(drop=True))
    assert small.finance is not None
    assert plan.objective == pytest.approx(bare.objective, rel=1e-12, abs=1e-9)
    assert plan.kpis["chain"]["total_funding_gap"] == pytest.approx(bare.kpis["chain"]["total_funding_gap"], abs=1e-6)
    assert plan.finance["partners"][0]["partner"] == "maker"
    assert "finance" not in bare.to_dict()
    spec = finance_spec_from_scenario(small)
    assert spec.periods_per_year == 12 and spec.currency == "EUR"
    assert spec.partners[0].customers == ["wholesale"]  # from the lanes and transfer prices
    assert {i.type for i in spec.partners[0].instruments} == {"revolver", "asset_based", "reverse_factoring", "fixed_tenor"}


@pytest.mark.parametrize(
    "change, path, words",
    [
        ({"partners": [{"partner": "bank", "instruments": []}]}, "finance.partners[0].partner", "unknown partner 'bank'"),
        ({"partners": [{"partner": "maker", "instruments": [
            {"id": "scf", "type": "reverse_factoring", "buyer": "shops", "rate": 0.004}]}]},
         "finance.partners[0].instruments[0].buyer", "'shops' is not a customer of 'maker'"),
        ({"partners": [{"partner": "wholesale", "instruments": [
            {"id": "scf", "type": "reverse_factoring", "buyer": "maker", "rate": 0.004}]}]},
         "finance.partners[0].instruments[0].buyer", "'maker' is not a customer of 'wholesale'"),
        ({"partners": [{"partner": "maker", "instruments": [
            {"id": "rcf", "type": "revolver", "limit": 1000, "rate": -0.01}]}]},
         "finance.partners[0].instruments[0].rate", "must not be negative"),
        ({"partners": [{"partner": "maker", "instruments": [
            {"id": "abl", "type": "asset_based", "rate": 0.01, "receivables_advance_rate": 85}]}]},
         "finance.partners[0].instruments[0].receivables_advance_rate", "over 100 %"),
        ({"partners": [{"partner": "maker", "instruments": [
            {"id": "rcf", "type": "revolver", "limit": [1, 2, 3], "rate": 0.01}]}]},
         "finance.partners[0].instruments[0].limit", "has 3 values but the horizon has 12 periods"),
        ({"partners": [{"partner": "maker", "instruments": [
            {"id": "epd", "type": "early_payment_discount", "discount": 0.02, "discount_days": 10,
             "net_days": 30, "supplier": "shops"}]}]},
         "finance.partners[0].instruments[0].supplier", "'shops' is not a supplier of 'maker'"),
        ({"partners": [{"partner": "maker", "instruments": []}, {"partner": "maker", "instruments": []}]},
         "finance.partners[1].partner", "listed twice"),
    ],
)
def test_bad_finance_sections_name_the_field(change, path, words):
    data = example("small_chain")
    data["finance"] = change
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    found = [p for p in exc.value.problems if p.path == path]
    assert found and words in found[0].message, exc.value.problems


def test_unknown_instrument_field_is_a_schema_error():
    data = example("small_chain")
    data["finance"]["partners"][0]["instruments"][0]["limt"] = 5
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data)
    assert any(p.path.startswith("finance.partners[0].instruments[0]") and "unknown field" in p.message
               for p in exc.value.problems)


def test_reverse_factoring_by_the_retailer_to_the_wholesaler_is_accepted():
    """The transfer prices also support shops' programme for wholesale."""
    s = scenario_with({"partners": [{"partner": "wholesale", "instruments": [
        {"id": "scf", "type": "reverse_factoring", "buyer": "shops", "rate": 0.003}]}]})
    assert finance_spec_from_scenario(s).partners[0].customers == ["shops"]


# ---------------------------------------------------------------------------------------------
# The joint model
# ---------------------------------------------------------------------------------------------


def test_joint_plan_is_optimal_and_cash_is_conserved(comparison):
    """Recomputed from the plan and its funding tables, for every partner and period (1e-6):
    the plan's cash adds up with the instruments' and deposits' money (other_flows), the funding
    cash table adds up, both agree on closing cash, and minimum cash holds."""
    assert_joint_plan_conserved(comparison.joint.plan)


def assert_joint_plan_conserved(plan):
    """The joint plan's cash, recomputed from its tables (see the test above)."""
    assert plan.status == "optimal"
    c = plan.tables["cash"]
    assert (c["opening_cash"] + c["inflows"] - c["outflows"] + c["other_flows"] - c["closing_cash"]).abs().max() < 1e-6
    for _, g in c.groupby("partner"):
        assert np.allclose(g["opening_cash"].to_numpy()[1:], g["closing_cash"].to_numpy()[:-1], atol=1e-6, rtol=0)
    fc = plan.tables["funding_cash"].set_index(["partner", "period"])
    fi = plan.tables["funding_instruments"]
    pc = c.set_index(["partner", "period"])
    net = (fi["inflow"] - fi["outflow"] - fi["interest"] - fi["fees"]).groupby([fi["partner"], fi["period"]]).sum()
    money = net.reindex(pc.index, fill_value=0.0) + fc["deposit_interest"].reindex(pc.index) + fc["unfunded_cover"].reindex(pc.index)
    assert (money - pc["other_flows"]).abs().max() < 1e-6
    assert (fc["closing_cash"] - pc["closing_cash"]).abs().max() < 1e-6
    assert (fc["operating_cash_flow"] - (pc["inflows"] - pc["outflows"])).abs().max() < 1e-6
    assert (pc["closing_cash"] >= pc["min_cash"].clip(lower=0) - 1e-6).all()
    # the funding tables pass the standalone sizer's own conservation checks
    assert_conserved(SimpleResult(plan))
    # and the finance KPIs are what the objective paid for
    fin = plan.kpis["finance"]["total"]["net_financing_cost"]
    assert -plan.kpis["chain"]["extensions"]["finance"] == pytest.approx(fin, abs=1e-6)
    assert plan.kpis["chain"]["profit"] == pytest.approx(plan.objective, rel=1e-9)


class SimpleResult:
    def __init__(self, plan):
        self.tables = {"cash": plan.tables["funding_cash"], "instruments": plan.tables["funding_instruments"]}


def test_joint_is_at_least_as_good_as_plan_then_fund(comparison):
    """The sequential answer (plan ignoring financing, then fund it at least cost) is one of the
    joint model's choices, so joint chain profit >= sequential chain profit - its financing cost."""
    seq, joint = comparison.sequential, comparison.joint
    assert seq.status == joint.status == "optimal"
    assert seq.financing_cost > 100  # maker's ~87k gap in period 1 costs something to fund
    assert seq.chain_profit == pytest.approx(seq.operating_profit - seq.financing_cost)
    assert joint.chain_profit >= seq.operating_profit - seq.financing_cost - 1e-6 * abs(seq.operating_profit)
    assert comparison.difference["chain_profit"] >= -1e-6 * abs(seq.operating_profit)
    assert 0 < joint.fill_rate <= 1 and 0 < seq.fill_rate <= 1
    # better than the plan with the funding gap priced at the scenario's 1.5 % a month
    _, priced = solve(example("small_chain"))
    assert joint.chain_profit > priced.objective
    json.dumps(comparison.to_dict())


def test_joint_financing_is_what_the_sizer_finds_for_the_same_operations(small):
    """Collateral as linear expressions of the plan equals the table the sizer reads from the solved
    plan (receivables by customer and age, eligibility with a concentration limit, inventory at
    cost), so sizing the joint plan's operations alone costs exactly the joint financing cost."""
    spec = load_finance_spec(FIN / "small_chain_finance.yaml")  # 60-day age cut-off, 60 % concentration
    ref = plan_scenario(operations_only(small))
    rates = collection_rates_from_plan(ref)
    ext = FinanceExtension(spec, collection_rates=rates)
    plan = plan_scenario(joint_scenario(small), extensions=[ext])
    assert plan.status == "optimal"
    table = cashflows_from_plan(plan)
    setup = prepare(spec, table)
    val = lambda x: float(x) if isinstance(x, (int, float)) else float(x())  # noqa: E731
    for a, inp in ext.fm.inputs.items():
        ref_inp = setup.inputs[a]
        assert np.allclose([val(x) for x in inp.receivables], ref_inp.receivables, atol=1e-6)
        assert np.allclose([val(x) for x in inp.inventory], ref_inp.inventory, atol=1e-6)
        for n, pool in inp.pools.items():
            assert np.allclose([val(x) for x in pool], ref_inp.pools[n], atol=1e-6), (a, n)
    abl = ext.fm.inputs["maker"].pools["abl"]
    gross = table.series("maker", "receivables")
    assert 0 < val(abl[3]) < 0.61 * gross[3]  # the concentration limit binds: maker sells to wholesale only
    sized = size_plan_funding(plan, spec)
    assert sized.funded
    assert sized.kpis["total"]["net_financing_cost"] == pytest.approx(
        ext.kpis["total"]["net_financing_cost"], abs=1e-3)
    assert ext.kpis["total"]["net_financing_cost"] == pytest.approx(-plan.kpis["chain"]["extensions"]["finance"], abs=1e-6)


def test_instrument_rows_reach_the_direct_compiler(small):
    """The extension rewrites its rows as flat linear rows; without that the compiler falls back to
    Pyomo's standard form for the whole model. Both give the same plan."""
    spec = finance_spec_from_scenario(small)
    d = compile_data(joint_scenario(small))
    m = build_model(d, [FinanceExtension(spec, collection_rates={})])
    compile_model(m, method="direct")
    m2 = build_model(d, [FinanceExtension(spec, collection_rates={}, direct=False)])
    with pytest.raises(ValueError):
        compile_model(m2, method="direct")
    a = plan_with_finance(small, direct=True)
    b = plan_with_finance(small, direct=False)
    assert a.objective == pytest.approx(b.objective, rel=1e-9)


def test_when_plan_then_fund_cannot_be_funded_the_joint_plan_can(small):
    """With a smaller asset-based line and neither the buyer's programme nor platform loans, the
    plan made ignoring financing cannot be funded (maker is short in period 1); planning with the
    instruments finds operations that can be funded."""
    s = scenario_with(maker_instruments(abl={"limit": 30000}, scf=None, platform=None))
    cmp_ = joint_vs_sequential(s)
    assert cmp_.sequential.status == "infeasible" and not cmp_.sequential.funded
    assert cmp_.sequential.chain_profit is None and cmp_.difference is None
    short = cmp_.sequential.diagnosis["partners"]
    assert set(short) == {"maker"} and short["maker"]["peak_period"] == 1 and short["maker"]["peak"] > 10000
    assert cmp_.joint.status == "optimal" and cmp_.joint.funded
    assert cmp_.message.startswith("the sequential plan cannot be funded: no mix of the instruments funds the plan: maker is short")
    assert "the joint plan is funded" in cmp_.message
    c = cmp_.joint.plan.tables["cash"]
    assert (c["closing_cash"] >= c["min_cash"] - 1e-6).all()


def test_no_plan_can_be_funded_says_who_is_short_when_and_by_how_much(small):
    s = scenario_with({"partners": [{"partner": "maker", "instruments": [
        {"id": "rcf", "type": "revolver", "limit": 5000, "rate": 0.01}]}]})
    plan = plan_with_finance(s)
    assert plan.status == "infeasible" and plan.objective is None
    diag = plan.diagnosis
    assert "maker is short" in diag["message"]
    assert "minimum_cash[maker,1]" in diag["constraints"]
    assert all(r["partner"] == "maker" and r["amount"] > 0 for r in diag["shortfalls"])
    fc = plan.tables["funding_cash"]
    assert fc["shortfall"].max() == pytest.approx(diag["partners"]["maker"]["peak"])
    # best effort: the funding tables still add up, with the money found outside as unfunded cover
    assert_conserved(SimpleResult(plan))


def test_bad_instruments_for_the_joint_mode_raise_finance_error(small):
    with pytest.raises(FinanceError) as exc:
        plan_with_finance(scenario_with(drop=True))
    assert exc.value.problems[0].path == "finance"
    spec = finance_spec_from_scenario(small).model_copy(deep=True)
    spec.partners[0].partner = "bank"
    with pytest.raises(FinanceError) as exc:
        plan_with_finance(small, spec)
    assert "'bank' is not in the scenario" in str(exc.value)


# ---------------------------------------------------------------------------------------------
# Reverse-factoring what-if
# ---------------------------------------------------------------------------------------------


def test_buyers_programme_lowers_the_suppliers_financing_cost(small):
    """wholesale's supply-chain-finance programme (0.4 % a month, on maker's invoices to it) is
    cheaper than maker's own lines: with it maker's financing cost is lower and the chain earns more,
    in the sequential answer (same plan) and in the joint answer."""
    w = reverse_factoring_whatif(small)
    assert w.programmes == [{"supplier": "maker", "buyer": "wholesale", "instrument": "scf"}]
    for mode in ("sequential", "joint"):
        with_, without = w.row(mode, "with"), w.row(mode, "without")
        assert with_["status"] == without["status"] == "optimal"
        assert with_["supplier_financing_cost"]["maker"] < without["supplier_financing_cost"]["maker"] - 50
        assert with_["chain_profit"] > without["chain_profit"]
        assert with_["chain_financing_cost"] == pytest.approx(with_["supplier_financing_cost"]["maker"])
    json.dumps(w.to_dict())
    spec = finance_spec_from_scenario(small)
    seq = sequential_answer(small, spec)
    assert seq.financing_cost == pytest.approx(w.row("sequential", "with")["chain_financing_cost"])


def test_whatif_without_a_programme_is_an_error(small):
    with pytest.raises(FinanceError):
        reverse_factoring_whatif(scenario_with(maker_instruments(scf=None)))
