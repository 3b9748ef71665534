"""The credit limit rule (:mod:`api.financing.credit_rule`) worked by hand, and the terms' amounts.

Broken on purpose once: the standard deviation taken as the sample one (÷ (N − 1)) instead of
the population one: the worked example gives 24844, not 25468; the floor of the stability
factor removed: the unstable case gives 0 instead of a quarter of μ·c.
"""

from __future__ import annotations

from datetime import date

from api.financing import terms
from api.financing.credit_rule import Facts, check_params, credit_limit
from api.financing.credit_facts import month_window

MONTHS = ("2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11")


def test_worked_example_of_the_docs():
    """V = 100, 300, 200, 200, 100, 300 EUR (cents below), W = 0.2, nothing disputed:
    μ = 200, σ = √(4·100²/6) = 81.6497, CV = 0.408248, stability = 1 − 0.5·0.408248 = 0.795876,
    accuracy = 0.8, limit = ⌊200 · 2 · 0.795876 · 0.8⌋ = 254.68 EUR."""
    got = credit_limit(Facts((10000, 30000, 20000, 20000, 10000, 30000), MONTHS, 120000, 0, 0.2, 0.05), {})
    assert got.amount_minor == 25468
    assert got.factors["cv"] == "0.408248" and got.factors["stability"] == "0.795876" and got.factors["accuracy"] == "0.800000"
    assert "FVA +0.0500" in got.steps[4] and got.steps[-1].endswith("= 25468")


def test_floors_disputes_and_a_supplier_without_history():
    unstable = credit_limit(Facts((0, 0, 0, 0, 0, 60000), MONTHS, 60000, 0), {"cover_months": 1})
    # μ = 10000, CV = √5 = 2.236 → 1 − 1.118 < 0.25: the floor; ⌊10000 · 1 · 0.25⌋
    assert unstable.amount_minor == 2500 and "neutral factor 1" in unstable.steps[4]
    disputed = credit_limit(Facts((10000,) * 6, MONTHS, 80000, 20000), {})  # rate 0.25 → factor 0.5
    assert disputed.amount_minor == 10000
    assert credit_limit(Facts((10000,) * 6, MONTHS, 80000, 40000), {}).amount_minor == 0  # half disputed: 0
    assert credit_limit(Facts((0,) * 6, MONTHS, 0, 0), {}).amount_minor == 0
    bad_forecaster = credit_limit(Facts((10000,) * 6, MONTHS, 60000, 0, 0.9), {})  # 1 − 0.9 below the 0.5 floor
    assert bad_forecaster.amount_minor == 10000
    assert check_params({"months": 2.5, "cv_weight": -1, "x": 1}) == [
        ("months", "must be a whole number of months"), ("cv_weight", "must be a number from 0 to 10"),
        ("x", "unknown parameter (the parameters are months, cover_months, cv_weight, stability_floor, "
              "dispute_weight, accuracy_floor)")]


def test_month_window_is_the_complete_months_before():
    assert month_window(date(2027, 2, 14), 3) == [date(2026, 11, 1), date(2026, 12, 1), date(2027, 1, 1)]


def test_amounts_in_exact_integers():
    # 0.9 × 1234.57 → 1111.11 (down); 1111.11 × 6 % × 30/360 = 5.5555 → 5.56; fee 0.2 % of 1234.57 = 2.469 → 2.47
    a = terms.amounts("factoring", 123457, 900000, 60000, 2000, "actual/360", date(2027, 1, 1), date(2027, 1, 31))
    assert a == {"advance": 111111, "discount": 556, "fee": 247, "net": 110308}
    line = terms.amounts("receivables_line", 123457, 900000, 60000, 2000, "actual/360", date(2027, 1, 1), date(2027, 1, 31))
    assert line["discount"] == 0
    assert terms.interest(296000, 100000, 73, "actual/365") == 5920
    assert terms.to_micro(0.004 * 12) == 48000 and terms.micro_text(48000) == "0.048"
