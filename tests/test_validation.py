"""Bad scenarios get every error, each naming the field path and the reason."""

from __future__ import annotations

import copy

import pytest

from conftest import example
from scenarios.io import parse_scenario
from scenarios.validation import ScenarioError


def errors(data: dict) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return [(p.path, p.message) for p in info.value.problems if p.severity == "error"]


def has(errs, path, fragment):
    return any(p == path and fragment in m for p, m in errs)


@pytest.fixture
def small():
    return copy.deepcopy(example("small_chain"))


def test_examples_are_valid():
    for name in ("small_chain", "medium_chain"):
        scenario, problems = parse_scenario(example(name))
        assert not [p for p in problems if p.severity == "error"]


def test_unknown_references_are_named(small):
    small["lanes"][0]["destination"] = "nowhere"
    small["sites"][1]["partner"] = "ghost"
    small["demand"][0]["product"] = "sprocket"
    errs = errors(small)
    assert has(errs, "lanes[0].destination", "unknown site 'nowhere'")
    assert has(errs, "sites[1].partner", "unknown partner 'ghost'")
    assert has(errs, "demand[0].product", "unknown product 'sprocket'")


def test_site_needs_partner_of_right_role(small):
    small["sites"][0]["partner"] = "shops"  # plant owned by the retailer
    errs = errors(small)
    assert has(errs, "sites[0].partner", "a plant must belong to a partner with role manufacturer")


def test_lane_operator_must_be_a_transporter(small):
    small["lanes"][1]["transporter"] = "wholesale"
    assert has(errors(small), "lanes[1].transporter", "not a transporter")


def test_negative_values_rejected(small):
    small["lanes"][0]["capacity"] = -5
    small["sites"][1]["holding_cost"] = [0.3] * 11 + [-1]
    small["lanes"][2]["lead_time"] = -1
    errs = errors(small)
    # lead_time is rejected by the schema itself: those errors come first, alone
    assert has(errs, "lanes[2].lead_time", "greater than or equal to 0")


def test_negative_series_values_rejected(small):
    small["lanes"][0]["capacity"] = -5
    small["sites"][1]["holding_cost"] = [0.3] * 11 + [-1]
    errs = errors(small)
    assert has(errs, "lanes[0].capacity", "must not be negative")
    assert has(errs, "sites[1].holding_cost[11]", "must not be negative")


def test_demand_must_cover_horizon(small):
    small["demand"][0]["quantity"] = [100] * 10
    assert has(errors(small), "demand[0].quantity", "has 10 values but the horizon has 12 periods")


def test_missing_transfer_price(small):
    small["transfer_prices"] = [tp for tp in small["transfer_prices"] if tp["product"] != "gadget" or tp["seller"] != "maker"]
    assert has(errors(small), "lanes[0]", "moves 'gadget' from partner 'maker' to 'wholesale'")


def test_duplicate_ids_and_demand(small):
    small["products"].append({"id": "widget"})
    small["demand"].append(copy.deepcopy(small["demand"][0]))
    errs = errors(small)
    assert has(errs, "products[2].id", "duplicate id 'widget'")
    assert has(errs, "demand[4]", "second demand entry")


def test_unknown_field_and_bad_enum(small):
    small["sites"][0]["kind"] = "warehouse"
    small["partners"][0]["colour"] = "red"
    errs = errors(small)
    assert has(errs, "sites[0].kind", "Input should be 'plant', 'dc' or 'store'")
    assert has(errs, "partners[0].colour", "unknown field")


def test_workforce_needs_hours_per_unit(small):
    del small["sites"][0]["production"]["hours_per_unit"]
    assert has(errors(small), "sites[0].production.hours_per_unit", "hours_per_unit is required")


def test_min_cost_needs_priced_unmet_demand(small):
    small["objective"] = "minimize_cost"
    small["service"][1]["lost_sale_penalty"] = 0
    assert has(errors(small), "service[1].lost_sale_penalty", "must be positive under minimize_cost")


def test_all_errors_reported_not_just_first(small):
    small["lanes"][0]["origin"] = "x1"
    small["lanes"][1]["origin"] = "x2"
    small["demand"][1]["site"] = "x3"
    assert len(errors(small)) >= 3


def test_integer_workforce_needs_whole_opening(small):
    small["sites"][0]["production"]["workforce"].update({"integer": True, "opening": 12.5})
    assert has(errors(small), "sites[0].production.workforce.opening", "must be a whole number")


def warnings_of(data: dict) -> list[tuple[str, str]]:
    _, problems = parse_scenario(copy.deepcopy(data))
    return [(p.path, p.message) for p in problems if p.severity == "warning"]


def gap_warnings(data: dict) -> list[str]:
    return [m for p, m in warnings_of(data) if p == "cash.funding_gap_rate"]


def test_default_funding_gap_rate_is_named_once(small):
    """Issue 17: the default 1 %/period charge on a funding gap changes objectives; left at the
    default it is named (with its rate) once for the chain, not once per partner."""
    del small["cash"]
    msgs = gap_warnings(small)
    assert len(msgs) == 1 and "1 % per period" in msgs[0], msgs
    small["cash"] = {"mode": "soft"}  # the section given, the rate not
    assert len(gap_warnings(small)) == 1


def test_explicit_funding_gap_rate_is_not_warned(small):
    for cash in ({"funding_gap_rate": 0.01}, {"mode": "soft", "funding_gap_rate": 0}, {"mode": "hard"}):
        small["cash"] = cash
        assert gap_warnings(small) == [], cash


def test_zero_backlog_penalty_under_min_cost_is_warned(small):
    """Issue 17: accepted (the backlog must clear by the end) but lateness is then free."""
    small["objective"] = "minimize_cost"
    small["service"][0].update({"backlog_penalty": 0, "clear_backlog_by_end": True})
    msgs = [m for p, m in warnings_of(small) if p == "service[0].backlog_penalty"]
    assert len(msgs) == 1 and "served late at no cost" in msgs[0], msgs
    small["service"][0]["backlog_penalty"] = [0.0] * 12
    assert any(p == "service[0].backlog_penalty" for p, _ in warnings_of(small))
    small["service"][0]["backlog_penalty"] = 6
    assert not any(p == "service[0].backlog_penalty" for p, _ in warnings_of(small))
    small["service"][0]["backlog_penalty"] = 0
    small["objective"] = "maximize_profit"
    assert not any(p == "service[0].backlog_penalty" for p, _ in warnings_of(small))
