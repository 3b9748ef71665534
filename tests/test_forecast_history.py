"""Shared history in: column mapping, checks naming rows, bucketing, gap policies, report."""

from __future__ import annotations

import numpy as np
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


def _per_series_reference(grouped: pd.DataFrame, keys: list[str], regressors: list[str], freq: str, gaps: str):
    """The gap filling as it was written first, one series at a time with pandas (the reference
    for the vectorised forecasting.history.fill_gaps)."""
    offset = pd.offsets.Week(weekday=0) if freq == "W" else pd.offsets.MonthBegin()
    pieces, filled, problems = [], {}, []
    for uid, g in grouped.groupby("unique_id", sort=True):
        full = pd.date_range(g["ds"].min(), g["ds"].max(), freq=offset)
        g = g.set_index("ds").reindex(full)
        missing = int(g["y"].isna().sum())
        if missing:
            if gaps == "error":
                problems.append(f"series {uid} has {missing} missing bucket(s), first {g.index[g['y'].isna()][0].date()}")
                continue
            filled[uid] = missing
            g["y"] = g["y"].fillna(0.0) if gaps == "zero" else g["y"].interpolate(method="linear")
            for r in regressors:
                g[r] = g[r].interpolate(method="linear").ffill().bfill()
            g[keys] = g[keys].ffill().bfill()
            g["unique_id"] = uid
        pieces.append(g.rename_axis("ds").reset_index())
    if problems:
        return None, filled, problems
    out = pd.concat(pieces, ignore_index=True)[["unique_id", *keys, "ds", "y", *regressors]]
    return out, filled, problems


@pytest.mark.parametrize("freq", ["W", "M"])
@pytest.mark.parametrize("gaps", ["zero", "interpolate", "error"])
def test_vectorised_gap_filling_equals_the_per_series_reference(freq, gaps):
    """Random series with holes (one observation, leading/trailing/inner gaps, runs of gaps), keys
    whose '/'-joined ids sort differently from the key tuples ('a' / 'a-b'), and a regressor:
    the table, the gaps report and the refusal equal the per-series reference."""
    rng = np.random.default_rng(7)
    rows = []
    products = ["a", "a-b", "b", "c.d", "zz"]
    sites = ["n", "n-s", "s"]
    for p in products:
        for s_ in sites:
            n = int(rng.integers(1, 200))
            days = np.sort(rng.choice(np.arange(900), size=min(n, 900), replace=False))
            days = days[rng.random(len(days)) > 0.3] if len(days) > 2 else days
            for d in days:
                rows.append({"product": p, "site": s_, "date": (pd.Timestamp("2024-01-03") + pd.Timedelta(days=int(d))).date().isoformat(),
                             "quantity": float(rng.integers(0, 40)), "promo": float(rng.random())})
    raw = pd.DataFrame(rows)
    spec = HistorySpec(keys=["product", "site"], regressors=["promo"])
    df = raw.assign(date=pd.to_datetime(raw["date"]))
    df["ds"] = df["date"].dt.to_period("W-SUN" if freq == "W" else "M").dt.start_time
    grouped = df.groupby(["product", "site", "ds"], sort=True).agg({"quantity": "sum", "promo": "mean"}).reset_index()
    grouped = grouped.rename(columns={"quantity": "y"})
    grouped.insert(0, "unique_id", grouped["product"] + "/" + grouped["site"])
    want, filled, problems = _per_series_reference(grouped, ["product", "site"], ["promo"], freq, gaps)
    assert filled or problems, "the random history should have gaps"
    if gaps == "error":
        with pytest.raises(HistoryError) as err:
            prepare_history(raw, spec, freq=freq, gaps=gaps)
        assert [str(p_.message) for p_ in err.value.problems] == problems
        return
    got, report = prepare_history(raw, spec, freq=freq, gaps=gaps)
    assert report.gaps_filled == filled
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
