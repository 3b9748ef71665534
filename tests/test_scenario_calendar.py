"""The scenario calendar: one derivation of the period start dates, used by the plan's tables and
by forecast -> scenario."""

from __future__ import annotations

from datetime import date

import pandas as pd

from forecasting.to_scenario import scenario_period_starts
from scenarios.schema import TimeBuckets, period_starts


def test_weekly_periods_start_every_seven_days():
    t = TimeBuckets(freq="weekly", periods=3, start=date(2024, 12, 23))
    assert period_starts(t) == [date(2024, 12, 23), date(2024, 12, 30), date(2025, 1, 6)]


def test_monthly_periods_keep_the_day_clipped_to_the_month_end():
    t = TimeBuckets(freq="monthly", periods=5, start=date(2023, 11, 30))
    # 30 Feb does not exist: that period starts on the 29th (2024 is a leap year); March is back to the 30th
    assert period_starts(t) == [date(2023, 11, 30), date(2023, 12, 30), date(2024, 1, 30), date(2024, 2, 29),
                                date(2024, 3, 30)]


def test_plan_tables_and_forecast_fill_use_the_same_calendar(small_chain_plan):
    scenario, plan = small_chain_plan
    starts = period_starts(scenario.time)
    assert scenario_period_starts(scenario).equals(pd.DatetimeIndex(starts))
    inventory = plan.tables["inventory"]
    got = dict(zip(inventory["period"], pd.to_datetime(inventory["date"]).dt.date))
    assert got == dict(enumerate(starts))
