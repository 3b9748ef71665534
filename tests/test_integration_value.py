"""The value-of-integration study (:mod:`finance.integration_value`) against a two-period case
worked by hand, and its input checks.

The case (every number a literal in :func:`two_period`): one partner, ``maker``, one product, a
plant where customers buy; monthly periods 0 and 1. Demand ``D = 100 k`` in period 0 (``k``
the grid's demand scale) at price ``p = 12``, paid one period later (collection lag 1); material
``c = 10`` a unit paid when made (payment lag 0); lost sales cost nothing beyond the margin;
opening cash ``C = 500``, minimum cash 0; one revolver, rate ``rho = R / 12`` a period (``R``
the grid's rate a year), no fees, repaid by the horizon's end. Interest of period 1 is paid on
the balance at the end of period 0.

**Sequential.** Ignoring financing, every unit earns ``p - c = 2``: make and sell ``q = D``.
Period 0's cash before financing is ``C - c D``, so the peak need is ``N = c D - C =
1000 k - 500`` (500 at k = 1, 1500 at k = 2) and the study's limit is ``L = s N``. The plan is
funded iff ``L >= N`` (i.e. ``s >= 1``) and period 1 repays: ``p D - N (1 + rho) >= 0``.
Profit after financing ``2 D - rho N``.

**Joint.** Choose ``q`` in ``[0, D]``: profit ``2 q - rho max(0, c q - C)`` with
``c q - C <= L``. Up to ``C / c = 50`` units need no credit (slope 2); beyond, each unit costs
``c rho = 10 rho`` more (slope ``2 - 10 rho``). So ``q = min(D, (C + L) / c)`` when
``rho < 0.2`` and ``q = 50`` when ``rho > 0.2``.

Grid ``k in {1, 2}``, ``R in {1.2, 3.6}`` (``rho`` 0.1 and 0.3), ``s in {0.5, 1, 2}``:

====  ====  ====  ======  ================  ==============================  ========
k     rho   s     L       sequential        joint (q)                       gain
====  ====  ====  ======  ================  ==============================  ========
1     0.1   0.5   250     not funded        75:  150 - 0.1 x 250 = 125      --
1     0.1   1, 2  500+    200 - 50 = 150    100: 150                        0
1     0.3   0.5   250     not funded        50:  100                        --
1     0.3   1, 2  500+    200 - 150 = 50    50:  100                        50
2     0.1   0.5   750     not funded        125: 250 - 0.1 x 750 = 175      --
2     0.1   1, 2  1500+   400 - 150 = 250   200: 250                        0
2     0.3   0.5   750     not funded        50:  100                        --
2     0.3   1, 2  1500+   400 - 450 = -50   50:  100                        150
====  ====  ====  ======  ================  ==============================  ========

(k = 2, rho = 0.3, s = 1: period 1 has 2400 - 1500 x 1.3 = 450 >= 0, so the sequential plan is
funded, at a loss; the joint plan makes what opening cash pays for.) Fill rate: sequential 1;
joint q / D. At rho = 0.3 the joint plan's binding limit is period 0's minimum cash, with shadow
price ``(p - c) / c = 0.2``: a unit more of opening cash makes a tenth of a unit more, earning 2.

Broken on purpose (2026-12-03), each reverted: ``spec_at`` setting the rate without dividing by
the periods a year (test_study_reproduces_the_hand_worked_points and
test_invariants_hold_and_are_recomputable fail: R = 1.2 became 1.2 a period, no plan funded);
the peak need taken a third of the sequential plan's (the same two fail: limits 250 / 500 where
750 / 1500 were due, and the sequential plan at s = 1 no longer funded); the joint plan's
binding families read from the operations plan (test_invariants_hold_and_are_recomputable fails).
"""

from __future__ import annotations

import math

import pytest

from finance.integration_value import Grid, check_grid, value_of_integration
from scenarios.finance import FinanceError
from scenarios.io import parse_scenario
from test_finance_sizing import assert_conserved

EXACT = 1e-6


def two_period() -> dict:
    return {
        "name": "two-period", "objective": "maximize_profit",
        "time": {"freq": "monthly", "periods": 2, "start": "2027-01-01"},
        "products": [{"id": "w"}],
        "partners": [{"id": "maker", "role": "manufacturer", "opening_cash": 500,
                      "payment_terms": {"collection_lag": 1, "payment_lag": 0}}],
        "sites": [{"id": "plant", "partner": "maker", "kind": "plant", "holding_cost": 0,
                   "production": {"material_cost": 10, "regular_capacity": 1000}}],
        "demand": [{"site": "plant", "product": "w", "price": 12, "quantity": [100, 0]}],
        "service": [{"site": "plant", "policy": "lost_sales", "lost_sale_penalty": 0}],
        "cash": {"mode": "soft", "funding_gap_rate": 0.0},
        "finance": {"partners": [{"partner": "maker", "instruments": [
            {"id": "rcf", "type": "revolver", "limit": 1000, "rate": 0.1}]}]},
    }


# (k, R, s) -> (L, sequential profit or None, joint profit, joint fill rate)
HAND = {
    (1, 1.2, 0.5): (250, None, 125, 0.75), (1, 1.2, 1.0): (500, 150, 150, 1.0), (1, 1.2, 2.0): (1000, 150, 150, 1.0),
    (1, 3.6, 0.5): (250, None, 100, 0.5), (1, 3.6, 1.0): (500, 50, 100, 0.5), (1, 3.6, 2.0): (1000, 50, 100, 0.5),
    (2, 1.2, 0.5): (750, None, 175, 0.625), (2, 1.2, 1.0): (1500, 250, 250, 1.0), (2, 1.2, 2.0): (3000, 250, 250, 1.0),
    (2, 3.6, 0.5): (750, None, 100, 0.25), (2, 3.6, 1.0): (1500, -50, 100, 0.25), (2, 3.6, 2.0): (3000, -50, 100, 0.25),
}
GRID = Grid(limit_share=(0.5, 1.0, 2.0), rate=(1.2, 3.6), demand=(1.0, 2.0))
SMALL = Grid(limit_share=(0.5, 1.0), rate=(1.2, 3.6), demand=(2.0,))  # 4 points, ~1 s each


@pytest.fixture(scope="module")
def scenario():
    return parse_scenario(two_period())[0]


@pytest.fixture(scope="module")
def study(scenario):
    return value_of_integration(scenario, SMALL, keep_answers=True)


@pytest.fixture(scope="module")
def full_study(scenario):
    return value_of_integration(scenario, GRID)


def test_study_reproduces_the_hand_worked_points(study):
    """Four points of the table (k = 2): limits, profits, fundedness, fill rates, gains."""
    check_rows_by_hand(study.rows, 4)


@pytest.mark.slow
def test_study_reproduces_the_hand_worked_grid(full_study):
    """The whole table (12 points)."""
    check_rows_by_hand(full_study.rows, len(HAND))
    assert full_study.invariants_hold and full_study.summary()["sequential_not_funded"] == 4


def check_rows_by_hand(rows, n):
    """Every point's limit, both answers' profit after financing, fundedness, fill rate and the
    gain equal the table in the module docstring."""
    assert len(rows) == n
    for r in rows:
        limit, seq, joint, fill = HAND[(r["demand"], r["rate"], r["limit_share"])]
        where = f"k={r['demand']} R={r['rate']} s={r['limit_share']}"
        assert r["peak_need"] == pytest.approx(1000 * r["demand"] - 500, abs=EXACT), where
        assert r["credit_limit"] == pytest.approx(limit, abs=EXACT), where
        assert r["sequential_funded"] is (seq is not None), where
        if seq is None:
            assert r["sequential_chain_profit"] is None and r["gain"] is None, where
        else:
            assert r["sequential_chain_profit"] == pytest.approx(seq, abs=EXACT), where
            assert r["gain"] == pytest.approx(joint - seq, abs=EXACT), where
        assert r["sequential_fill_rate"] == pytest.approx(1.0, abs=EXACT), where
        assert r["joint_funded"] is True, where
        assert r["joint_chain_profit"] == pytest.approx(joint, abs=EXACT), where
        assert r["joint_fill_rate"] == pytest.approx(fill, abs=EXACT), where


def test_invariants_hold_and_are_recomputable(study):
    """At every point joint >= sequential (when funded) and both answers' funding tables pass
    the sizing tests' own conservation checks (recomputed here, independently of the study's
    residuals); every joint solve after the first of the run is warm-started."""
    assert study.invariants_hold
    s = study.summary()
    assert s["joint_not_worse_everywhere"] and s["conserved_everywhere"]
    assert s["sequential_not_funded"] == 2 and s["joint_strictly_better"] == 1
    assert s["largest_gain"] == pytest.approx(150, abs=EXACT)
    assert s["largest_gain_at"] == {"demand": 2.0, "buyer_terms": None, "rate": 3.6, "limit_share": 1.0}
    for r in study.rows:
        seq, joint = study.answers[r["index"]]
        if seq.funding is not None and seq.funding.tables:
            assert_conserved(seq.funding)
        assert_conserved(_Tables(joint.plan))
        assert r["conservation_residual_joint"] <= 1e-6
    assert all(r["warm_started_joint"] for r in study.rows[1:])
    for r in (r for r in study.rows if r["rate"] == 3.6):
        assert set(r["binding_joint"]) == {"minimum_cash"}
        assert r["binding_joint"]["minimum_cash"]["rows"] == 1
        assert r["binding_joint"]["minimum_cash"]["shadow_price_abs_sum"] == pytest.approx(0.2, abs=1e-6)
    assert all(r["seconds"] > 0 for r in study.rows)


class _Tables:
    def __init__(self, plan):
        self.tables = {"cash": plan.tables["funding_cash"], "instruments": plan.tables["funding_instruments"]}


def test_a_cold_study_gives_the_same_figures(scenario, study):
    """Warm starts change the path, not the answer."""
    cold = value_of_integration(scenario, Grid(limit_share=(0.5, 1.0), rate=(3.6,), demand=(2.0,)), warm=False)
    for r in cold.rows:
        _, seq, joint, _ = HAND[(r["demand"], r["rate"], r["limit_share"])]
        assert r["joint_chain_profit"] == pytest.approx(joint, abs=EXACT)
        assert not r["warm_started_joint"]


@pytest.mark.slow
def test_parallel_runs_give_the_serial_figures(scenario, full_study):
    par = value_of_integration(scenario, GRID, workers=2)
    keys = ("sequential_chain_profit", "joint_chain_profit", "gain", "joint_fill_rate", "credit_limit")
    assert len(par.rows) == len(full_study.rows)
    for a, b in zip(full_study.rows, par.rows):
        assert a["index"] == b["index"]
        for k in keys:
            assert (a[k] is None and b[k] is None) or a[k] == pytest.approx(b[k], abs=EXACT), k


@pytest.mark.parametrize("grid, field, words", [
    (Grid(limit_share=(-0.5,)), "limit_share", "share"),
    (Grid(limit_share=()), "limit_share", "at least one"),
    (Grid(rate=(math.nan,)), "rate", "rate a year"),
    (Grid(buyer_terms=(1.5,)), "buyer_terms", "whole number"),
    (Grid(buyer_terms=(3,)), "buyer_terms", "0 .. 2"),
    (Grid(demand=(0.0,)), "demand", "above 0"),
    (Grid(demand=(1.0, 1.0)), "demand", "twice"),
    (Grid(buyer="nobody"), "buyer", "not a partner"),
    (Grid(limit_share=tuple(i / 10 for i in range(30)), rate=tuple(i / 100 for i in range(20))), "grid", "at most"),
])
def test_bad_grids_are_refused_naming_the_axis(scenario, grid, field, words):
    with pytest.raises(FinanceError) as exc:
        check_grid(grid, scenario)
    assert exc.value.problems[0].path == field and words in exc.value.problems[0].message


def test_a_buyer_terms_axis_needs_a_buyer(scenario):
    """The one partner buys from nobody: no terms to vary, said in words."""
    with pytest.raises(FinanceError) as exc:
        value_of_integration(scenario, Grid(limit_share=(1.0,), buyer_terms=(0,)))
    assert exc.value.problems[0].path == "buyer_terms" and "no partner buys" in exc.value.problems[0].message


@pytest.mark.slow
def test_the_scenario_as_written_is_compare_finance():
    """With every axis as written the study's point is `compare-finance`'s answer (one
    derivation): on credit_chain, both profits after financing, the gain (+15,309 EUR) and both
    fill rates equal joint_vs_sequential's."""
    from finance.compare import joint_vs_sequential
    from scenarios.io import load_scenario

    scenario, _ = load_scenario("credit_chain")
    (row,) = value_of_integration(scenario, Grid(limit_share=(None,))).rows
    cmp = joint_vs_sequential(scenario)
    assert row["sequential_chain_profit"] == pytest.approx(cmp.sequential.chain_profit, rel=1e-9)
    assert row["joint_chain_profit"] == pytest.approx(cmp.joint.chain_profit, rel=1e-9)
    assert row["gain"] == pytest.approx(cmp.difference["chain_profit"], abs=1e-6) and row["gain"] > 10_000
    assert row["joint_fill_rate"] == pytest.approx(cmp.joint.fill_rate, abs=1e-12)
    assert row["sequential_fill_rate"] == pytest.approx(cmp.sequential.fill_rate, abs=1e-12)
