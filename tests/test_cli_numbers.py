"""Numbers on the terminal (jointplan.numbers): negative zero never prints as -0 or -0.0."""

from __future__ import annotations

from types import SimpleNamespace

from rich.console import Console

from jointplan.finance_cli import print_funding
from jointplan.numbers import money, num


def test_negative_zero_prints_as_zero():
    assert money(-0.0) == "0" and money(-0.4) == "0" and money(-1e-9) == "0"
    assert num(-0.0, ".1f") == "0.0" and num(-0.04, "+.1f") == "+0.0" and num(-0.00001, ".1%") == "0.0%"
    assert money(-1234.6) == "-1,235" and num(-0.06, ".1f") == "-0.1" and num(2.5, "+.1f") == "+2.5"
    assert money(None) == "-" and money(float("nan")) == "-"


def test_funding_table_shows_no_negative_zero():
    """A solver's -1e-9 balance and a -0.0 interest in the instrument and partner tables."""
    inst = {"type": "revolver", "drawn": -1e-9, "peak_balance": -0.0, "ending_balance": -0.0,
            "interest": -0.0, "fees": -1e-12, "min_headroom": -0.0}
    partner = {"peak_funding_need": -0.0, "peak_funding_need_period": 1, "peak_debt": -1e-9, "peak_debt_period": 1,
               "financing_cost": -0.0, "net_financing_cost": -0.0, "effective_annual_rate": -0.0,
               "min_cash_headroom": -0.0, "days_sales_outstanding": -0.0, "days_inventory_outstanding": -0.2,
               "days_payables_outstanding": -0.0, "cash_conversion_cycle_days": -0.0, "peak_shortfall": 0.0,
               "peak_shortfall_period": 1, "instruments": {"bank": inst}}
    result = SimpleNamespace(status="optimal", currency="EUR", name="t", diagnosis=None,
                             kpis={"total": {"net_financing_cost": -0.0, "interest": -0.0, "fees": -0.0,
                                             "deposit_interest": -0.0}, "partners": {"shop": partner}})
    console = Console(record=True, width=200)
    print_funding(console, result)
    text = console.export_text()
    assert "bank" in text and "-0" not in text, text
