"""Deposit interest on a partner's cash: ``rate[t] x cash at the end of t - 1``, paid in cash in t;
in period 0 on the opening cash, if positive (a number). Not an instrument of the spec's list: a
partner's ``deposit_rate``, held by the host's cash balance (the sizing model, or the plan's)."""

from __future__ import annotations

from typing import Any

import numpy as np

from planning.data import as_array


class Deposit:
    """One partner's deposit rate over T periods."""

    def __init__(self, partner: str, rate: Any, T: int):
        self.partner = partner
        self.rates: np.ndarray = as_array(rate, T)

    def rate(self, t: int) -> float:
        return float(self.rates[t])

    def interest(self, t: int, opening_cash: float, cash_before: Any) -> tuple[float, list[tuple[float, Any]]]:
        """Interest paid in t as (a number, linear terms): on the opening cash for t = 0, else on
        ``cash_before`` (the cash variable at the end of t - 1)."""
        r = self.rate(t)
        if t == 0:
            return r * max(opening_cash, 0.0), []
        return 0.0, [(r, cash_before)]

    def value(self, t: int, opening_cash: float, cash_before: float) -> float:
        """Interest paid in t, from solved cash."""
        return self.rate(t) * (max(opening_cash, 0.0) if t == 0 else cash_before)
