"""Funding at risk (finance.at_risk): a closed form the simulation converges to, zero uncertainty
giving the point plan's funding, cash conservation per scenario, seeding, and input checks."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from finance.at_risk import (
    MAX_SCENARIOS,
    funding_at_risk,
    sample_demand,
    uncertainty_from_cv,
    uncertainty_from_quantiles,
)
from finance.cashflows import cashflows_from_plan
from finance.sizing import size_funding
from planning.plan import period_dates, plan_scenario
from scenarios.finance import FinanceError, finance_spec_from_scenario
from scenarios.io import parse_scenario
from test_finance_sizing import assert_conserved

# One shop, one product, one month: price P, holding cost H on the stock left, fixed cost F,
# opening stock I0 far above any demand, opening cash C0, minimum cash M, one revolver.
P, H, F, I0, C0, M = 50.0, 1.0, 30_000.0, 1_000.0, 5_000.0, 5_000.0
MU, SIGMA, LIMIT = 400.0, 40.0, 12_000.0
Z90 = norm.ppf(0.9)


def one_period_scenario(limit: float = LIMIT) -> dict:
    return {
        "name": "one-shop", "currency": "EUR", "objective": "maximize_profit",
        "time": {"freq": "monthly", "periods": 1, "start": "2027-01-01"},
        "products": [{"id": "w", "standard_cost": 20}],
        "partners": [{"id": "shop", "role": "retailer", "payment_terms": {"collection_lag": 0, "payment_lag": 0},
                      "opening_cash": C0, "min_cash": M, "fixed_cost": F}],
        "sites": [{"id": "store", "partner": "shop", "kind": "store", "holding_cost": H,
                   "products": [{"product": "w", "opening_inventory": I0}]}],
        "demand": [{"site": "store", "product": "w", "price": P, "quantity": [MU]}],
        "service": [{"site": "store", "policy": "lost_sales", "lost_sale_penalty": 0}],
        "cash": {"mode": "soft", "funding_gap_rate": 0.01},
        "finance": {"partners": [{"partner": "shop", "instruments": [
            {"id": "rcf", "type": "revolver", "limit": limit, "rate": 0.01, "at_end": "carry"}]}]},
    }


@pytest.fixture(scope="module")
def one_period():
    scenario, _ = parse_scenario(one_period_scenario())
    return scenario, plan_scenario(scenario)


def normal_quantiles(scenario) -> pd.DataFrame:
    """P10/P50/P90 of N(MU, SIGMA) for the one demand series, as the consensus table names it."""
    return pd.DataFrame({"unique_id": ["w/store"], "ds": ["2027-01-01"],
                         "p10": [MU - Z90 * SIGMA], "p50": [MU], "p90": [MU + Z90 * SIGMA]})


@pytest.mark.parametrize("S", [50, pytest.param(200, marks=pytest.mark.slow), pytest.param(800, marks=pytest.mark.slow)])
def test_closed_form_one_period_normal_demand(one_period, S):
    """One period, demand D ~ N(mu, sigma), fixed supply (stock I0 > any demand), everything sold
    is paid at once:

        operating cash flow = P D - H (I0 - D) - F
        need = max(0, M - C0 - (P D - H (I0 - D) - F)) = max(0, K - (P + H) D),  K = M - C0 + F + H I0

    The need falls as D rises, so its q-quantile is at demand's (1 - q)-quantile:
    ``need_q = K - (P + H) (mu - sigma z_q)`` (z_q = Phi^-1(q); positive here: K = 31,000 and
    (P + H)(mu + 5 sigma) = 30,600). A revolver of limit L funds the scenario iff need <= L, so
    P(lines not enough) = P(D < (K - L) / (P + H)) = Phi(((K - L)/(P + H) - mu) / sigma), and
    the unfunded peak max(0, need - L) has the quantiles max(0, need_q - L) (no interest within one
    period, no commitment fee).

    The sampled estimates converge: for S = 50, 200 (and 800) each quantile is within 4 standard
    errors of the closed form, SE = sqrt(q (1 - q) / S) (P + H) sigma / phi(z_q), a tolerance
    shrinking as 1/sqrt(S), and the probability within 4 sqrt(p (1 - p) / S). Each scenario's
    operating cash flow is the formula on its own draw (recomputed here from the inputs).
    Seen to fail with sigma_lo = (P90 - P10) / z90 in demand_from_normals: at S = 200 the
    need's P90 was 15,343 against 13,214 (4 SE = 986). S = 200 and 800 are marked slow (about 20 s and 50 s)."""
    scenario, plan = one_period
    K = M - C0 + F + H * I0
    u = uncertainty_from_quantiles(scenario, normal_quantiles(scenario))
    p_short = norm.cdf(((K - LIMIT) / (P + H) - MU) / SIGMA)
    if True:
        r = funding_at_risk(scenario, plan, u, scenarios=S, seed=7, keep_results=S == 50)
        row = r.partners.set_index("partner").loc["shop"]
        for q, col in ((0.5, "peak_need_p50"), (0.9, "peak_need_p90"), (0.95, "peak_need_p95")):
            z = norm.ppf(q)
            exact = K - (P + H) * (MU - SIGMA * z)
            se = math.sqrt(q * (1 - q) / S) * (P + H) * SIGMA / norm.pdf(z)
            assert abs(row[col] - exact) <= 4 * se, (S, q, row[col], exact, se)
            if q > 0.5:  # the unfunded peak is need - L where the need is above the line's limit
                assert abs(row[f"unfunded_peak_p{round(q * 100)}"] - max(0.0, exact - LIMIT)) <= 4 * se
        assert abs(row["probability_lines_not_enough"] - p_short) <= 4 * math.sqrt(p_short * (1 - p_short) / S)
        if S == 50:
            draws = sample_demand(u, S, 7)[:, 0, 0]
            for o, dmd in zip(r.outcomes, draws):
                ocf = o.result.tables["cash"]["operating_cash_flow"].iloc[0]
                assert ocf == pytest.approx(P * dmd - H * (I0 - dmd) - F, abs=1e-6)
                assert (o.status == "infeasible") == (K - (P + H) * dmd > LIMIT + 1e-6)


def test_zero_uncertainty_every_scenario_is_the_point_plan(small_chain_plan):
    """cv = 0 (and P10 = P50 = P90 = the scenario's demand): every scenario's funding is the point
    plan's: the same cash before financing, need, shortfall and least cost. Seen to fail with the sales rule selling one unit less than demand and
    stock allow in each period (point_check.reproduces_plan false, then the cash tables differ)."""
    scenario, plan = small_chain_plan
    point = size_funding(cashflows_from_plan(plan), finance_spec_from_scenario(scenario))
    for u in (uncertainty_from_cv(scenario, 0.0),
              uncertainty_from_quantiles(scenario, _point_quantiles(scenario))):
        r = funding_at_risk(scenario, plan, u, scenarios=3, seed=1, keep_results=True)
        assert r.settings["point_check"]["reproduces_plan"]
        cols = ["partner", "period", "operating_cash_flow", "cash_before_financing", "min_cash", "shortfall"]
        for o in r.outcomes:  # the cash path after financing may be another optimum of the same cost
            pd.testing.assert_frame_equal(o.result.tables["cash"][cols], point.tables["cash"][cols], check_exact=False, atol=1e-6)
            assert o.result.objective == pytest.approx(point.objective, abs=1e-6)
            assert o.status == point.status
        for a, k in point.kpis["partners"].items():
            row = r.partners.set_index("partner").loc[a]
            assert row["peak_need_p50"] == row["peak_need_p95"] == pytest.approx(k["peak_funding_need"], abs=1e-6)


def _point_quantiles(scenario) -> pd.DataFrame:
    rows = []
    for dm in scenario.demand:
        for t, q in enumerate(dm.quantity if isinstance(dm.quantity, list) else [dm.quantity] * scenario.time.periods):
            rows.append({"site": dm.site, "product": dm.product, "period": t, "p10": q, "p50": q, "p90": q})
    return pd.DataFrame(rows)


@pytest.mark.slow
def test_every_scenario_conserves_cash_and_the_retailer_follows_demand(small_chain_plan):
    """With cv 0.3, each scenario's funding passes the sizer's own conservation checks
    (assert_conserved); upstream partners' cash is the plan's (their decisions are frozen);
    the retailer's cash moves with its sales; a seed gives the same scenarios again."""
    scenario, plan = small_chain_plan
    u = uncertainty_from_cv(scenario, 0.3, correlation=0.5)
    r = funding_at_risk(scenario, plan, u, scenarios=6, seed=3, keep_results=True)
    point = size_funding(cashflows_from_plan(plan), finance_spec_from_scenario(scenario))
    shops = []
    for o in r.outcomes:
        assert_conserved(o.result)
        c = o.result.tables["cash"]
        for a in ("maker", "wholesale", "haul"):
            assert np.allclose(c[c.partner == a]["operating_cash_flow"], point.tables["cash"].query("partner == @a")["operating_cash_flow"])
        shops.append(c[c.partner == "shops"]["operating_cash_flow"].sum())
    assert np.std(shops) > 1_000
    again = funding_at_risk(scenario, plan, u, scenarios=6, seed=3)
    pd.testing.assert_frame_equal(again.periods, r.periods)
    other = funding_at_risk(scenario, plan, u, scenarios=6, seed=4)
    assert not other.periods.equals(r.periods)


def test_replan_after_frozen_periods(small_chain_plan):
    """frozen_periods = 3: every scenario is re-planned from period 3 (the LP with the frozen
    periods' decisions and simulated sales as bounds); with no uncertainty the re-plan is the
    plan again (same optimum), so its funding is the point plan's; with uncertainty the maker's
    financing cost now varies (its production follows demand after period 2)."""
    scenario, plan = small_chain_plan
    point = size_funding(cashflows_from_plan(plan), finance_spec_from_scenario(scenario))
    r0 = funding_at_risk(scenario, plan, uncertainty_from_cv(scenario, 0.0), scenarios=1, frozen_periods=3, keep_results=True)
    assert r0.settings["scenarios_replanned"] == 1
    assert r0.outcomes[0].result.kpis["partners"]["maker"]["peak_funding_need"] == pytest.approx(
        point.kpis["partners"]["maker"]["peak_funding_need"], rel=1e-6)
    r = funding_at_risk(scenario, plan, uncertainty_from_cv(scenario, 0.2), scenarios=4, seed=2, frozen_periods=3,
                        keep_results=True)
    assert r.settings["scenarios_replanned"] == 4
    maker = [o.financing_cost["maker"] for o in r.outcomes]
    assert np.std(maker) > 1.0
    for o in r.outcomes:
        assert_conserved(o.result)


@pytest.mark.slow
def test_parallel_equals_serial(small_chain_plan):
    """Two worker processes give the serial result (each scenario seeded by its index)."""
    scenario, plan = small_chain_plan
    u = uncertainty_from_cv(scenario, 0.2)
    a = funding_at_risk(scenario, plan, u, scenarios=4, seed=5)
    b = funding_at_risk(scenario, plan, u, scenarios=4, seed=5, workers=2)
    pd.testing.assert_frame_equal(a.periods, b.periods)
    pd.testing.assert_frame_equal(a.partners, b.partners)


@pytest.mark.parametrize("kwargs, field", [
    ({"scenarios": 0}, "scenarios"), ({"scenarios": MAX_SCENARIOS + 1}, "scenarios"), ({"scenarios": True}, "scenarios"),
    ({"seed": -1}, "seed"), ({"workers": 0}, "workers"), ({"frozen_periods": 0}, "frozen_periods"),
    ({"frozen_periods": 2}, "frozen_periods"),
])
def test_options_are_checked(one_period, kwargs, field):
    scenario, plan = one_period
    u = uncertainty_from_cv(scenario, 0.1)
    with pytest.raises(FinanceError) as exc:
        funding_at_risk(scenario, plan, u, **{"scenarios": 2, **kwargs})
    assert exc.value.problems[0].path == field


@pytest.mark.parametrize("cv", [-0.1, math.nan, math.inf, "0.2", True])
def test_cv_is_finite_and_not_negative(one_period, cv):
    with pytest.raises(FinanceError) as exc:
        uncertainty_from_cv(one_period[0], cv)
    assert exc.value.problems[0].path == "cv"


def test_correlation_is_checked(one_period):
    with pytest.raises(FinanceError) as exc:
        uncertainty_from_cv(one_period[0], 0.1, correlation=1.5)
    assert exc.value.problems[0].path == "correlation"


@pytest.mark.parametrize("change, field, words", [
    ({"p10": [450.0]}, "quantiles.p10", "above p50"),
    ({"p90": [300.0]}, "quantiles.p50", "above p90"),
    ({"p50": [math.nan]}, "quantiles.p50", "not a number"),
    ({"p90": [math.inf]}, "quantiles.p90", "not a finite number"),
    ({"p50": ["many"]}, "quantiles.p50", "not a number"),
    ({"unique_id": ["w/warehouse"]}, "quantiles.unique_id", "w/warehouse"),
    ({"ds": ["2027-02-01"]}, "quantiles.ds", "2027-02-01"),
    ({"ds": ["2027-01-15"]}, "quantiles.ds", "no period start"),
])
def test_quantiles_are_checked(one_period, change, field, words):
    """Ordered, finite, and every row maps to a demand series and a period (named when not)."""
    scenario, _ = one_period
    q = normal_quantiles(scenario)
    for k, v in change.items():
        q[k] = v
    with pytest.raises(FinanceError) as exc:
        uncertainty_from_quantiles(scenario, q)
    p = exc.value.problems[0]
    assert p.path == field and words in p.message, p


def test_quantiles_missing_a_period_are_refused(small_chain_plan):
    scenario, _ = small_chain_plan
    q = _point_quantiles(scenario)
    q = q[~((q["site"] == "store-south") & (q["period"] == 4))]
    with pytest.raises(FinanceError) as exc:
        uncertainty_from_quantiles(scenario, q)
    assert "gadget/store-south: period(s) 4" in exc.value.problems[0].message
    assert "widget/store-south: period(s) 4" in exc.value.problems[0].message


def test_a_plan_of_another_scenario_is_refused(small_chain_plan):
    """The plan's cash flows recomputed from the scenario must be the plan's own."""
    scenario, plan = small_chain_plan
    data = copy.deepcopy(scenario.model_dump(mode="json", exclude_none=True))
    data["demand"][0]["price"] = 47
    other, _ = parse_scenario(data)
    with pytest.raises(FinanceError) as exc:
        funding_at_risk(other, plan, uncertainty_from_cv(other, 0.1), scenarios=1)
    assert exc.value.problems[0].path == "scenario" and "consumer_revenue" in exc.value.problems[0].message


# ---------------------------------------------------------------------------------------------
# jointplan fund --at-risk
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan_json(tmp_path_factory):
    from typer.testing import CliRunner

    from jointplan.cli import app

    out = tmp_path_factory.mktemp("atrisk") / "plan.json"
    result = CliRunner().invoke(app, ["plan", "small_chain", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def _fund(*args: str):
    from typer.testing import CliRunner

    from jointplan.cli import app

    return CliRunner().invoke(app, ["fund", *args])


def test_fund_at_risk_writes_json_and_workbook(plan_json, tmp_path):
    """The funding JSON gets an ``at_risk`` section (per partner and per period) and the
    workbook a sheet with the table and fan charts; quantiles from a consensus-shaped CSV."""
    import openpyxl

    from scenarios.io import load_scenario

    scenario, _ = load_scenario("small_chain")
    q = _point_quantiles(scenario)
    q["p10"], q["p90"] = q["p50"] * 0.8, q["p50"] * 1.3
    q["unique_id"] = q["product"] + "/" + q["site"]
    q["ds"] = [str(d) for d in pd.Series(period_dates(scenario))[q["period"]]]
    qcsv = tmp_path / "q.csv"
    q[["unique_id", "ds", "p10", "p50", "p90"]].to_csv(qcsv, index=False)
    out, xlsx = tmp_path / "f.json", tmp_path / "f.xlsx"
    res = _fund(str(plan_json), "--out", str(out), "--xlsx", str(xlsx), "--at-risk", "--scenario", "small_chain",
                "--quantiles", str(qcsv), "--scenarios", "4", "--seed", "9", "--frozen-periods", "6")
    assert res.exit_code == 0, res.output
    assert "Funding at risk" in res.output
    data = json.loads(out.read_text())
    risk = data["at_risk"]
    assert risk["settings"]["scenarios"] == 4 and risk["settings"]["frozen_periods"] == 6
    assert {r["partner"] for r in risk["partners"]} == {"maker", "wholesale", "haul", "shops"}
    assert len(risk["periods"]) == 4 * 12
    assert data["kpis"]["partners"]["maker"]["peak_funding_need"] == pytest.approx(
        next(r for r in risk["partners"] if r["partner"] == "maker")["point_peak_need"])
    wb = openpyxl.load_workbook(xlsx)
    assert "Funding at risk" in wb.sheetnames and "Funding at risk periods" in wb.sheetnames
    assert len(wb["Funding at risk"]._charts) == 8  # a fan and a need chart per partner


@pytest.mark.parametrize("args, words", [
    (["--at-risk", "--cv", "0.2"], "--scenario"),
    (["--at-risk", "--scenario", "small_chain"], "--quantiles F.csv"),
    (["--at-risk", "--scenario", "small_chain", "--cv", "0.2", "--quantiles", "q.csv"], "--quantiles F.csv"),
    (["--cv", "0.2"], "go with --at-risk"),
    (["--at-risk", "--scenario", "small_chain", "--cv", "nan"], "not a finite number"),
    (["--at-risk", "--scenario", "small_chain", "--cv", "-1"], "less than 0"),
    (["--at-risk", "--scenario", "small_chain", "--cv", "0.1", "--scenarios", "10001"], "less than or equal to 10000"),
    (["--at-risk", "--scenario", "small_chain", "--cv", "0.1", "--frozen-periods", "13"], "frozen_periods"),
    (["--at-risk", "--scenario", "small_chain", "--quantiles", "missing.csv"], "quantiles file not found"),
])
def test_fund_at_risk_bad_input_exits_2(plan_json, tmp_path, args, words):
    res = _fund(str(plan_json), "--out", str(tmp_path / "f.json"), *args)
    assert res.exit_code == 2, res.output
    assert words in " ".join(res.output.split()), res.output
