"""Shared history in: column mapping, checks naming rows, bucketing, gap policies, report."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.history import HistoryError, HistorySpec, prepare_history


def _daily(days=28, product="widget", store="north", start="2027-01-04", qty=1.0):
    dates = pd.date_range(start, periods=days, freq="D")
    return pd.DataFrame({"product": product, "store": store, "date": dates.strftime("%Y-%m-%d"), "quantity": qty})


def test_daily_rows_are_summed_into_monday_weeks():
    out, report = prepare_history(_daily(28), freq="W")
    assert out["ds"].dt.dayofweek.eq(0).all()
    assert out["y"].tolist() == [7.0, 7.0, 7.0, 7.0]
    assert out["unique_id"].iloc[0] == "widget/north"
    assert report.rows_in == 28 and report.rows_aggregated == 24


def test_monthly_buckets():
    out, _ = prepare_history(_daily(59, start="2027-01-01"), freq="M")
    assert out["ds"].dt.strftime("%Y-%m-%d").tolist() == ["2027-01-01", "2027-02-01"]
    assert out["y"].tolist() == [31.0, 28.0]


def test_column_mapping_for_a_partner_export():
    raw = _daily(14).rename(columns={"date": "Day", "quantity": "Units sold", "product": "SKU"})
    spec = HistorySpec(date="Day", quantity="Units sold", keys=["SKU", "store"])
    out, _ = prepare_history(raw, spec)
    assert list(out.columns[:4]) == ["unique_id", "SKU", "store", "ds"]


def test_errors_name_columns_and_rows():
    raw = _daily(7)
    raw.loc[2, "date"] = "not a date"
    raw.loc[4, "quantity"] = -3
    raw = pd.concat([raw, raw.iloc[[5]]], ignore_index=True)
    with pytest.raises(HistoryError) as info:
        prepare_history(raw)
    messages = {(p.column, p.message): p.rows for p in info.value.problems}
    assert messages[("date", "unparseable or missing date")] == (3,)
    assert messages[("quantity", "negative quantity")] == (5,)
    assert messages[("date", "duplicate rows for the same keys and date")] == (6, 8)


def test_missing_column_is_named():
    with pytest.raises(HistoryError, match="qty: column not found"):
        prepare_history(_daily(7), HistorySpec(quantity="qty"))


def test_gap_policies():
    raw = pd.concat([_daily(7, start="2027-01-04", qty=2.0), _daily(7, start="2027-01-18", qty=4.0)])
    zero, report = prepare_history(raw, gaps="zero")
    assert zero["y"].tolist() == [14.0, 0.0, 28.0]
    assert report.gaps_filled == {"widget/north": 1}
    interp, _ = prepare_history(raw, gaps="interpolate")
    assert interp["y"].tolist() == [14.0, 21.0, 28.0]
    with pytest.raises(HistoryError, match="1 missing bucket"):
        prepare_history(raw, gaps="error")


def test_csv_and_parquet_files(tmp_path):
    raw = _daily(14)
    raw.to_csv(tmp_path / "h.csv", index=False)
    raw.to_parquet(tmp_path / "h.parquet")
    a, _ = prepare_history(tmp_path / "h.csv")
    b, _ = prepare_history(tmp_path / "h.parquet")
    pd.testing.assert_frame_equal(a, b)
