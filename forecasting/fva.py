"""Accuracy of each forecast source on history, and forecast value added (FVA).

Inputs are long tables: actuals ``unique_id, ds, y`` and past forecasts ``unique_id, ds,
source, value`` (source ``statistical`` or a partner id), optionally with ``version``,
``submitted_at`` and/or ``lag`` columns (as from :meth:`SubmissionStore.all_versions`).

Which past forecast counts for a series-period (:func:`select_forecasts`): with ``lag=k`` only
rows with ``lag == k``; rows submitted at or after the period's start (``submitted_at >= ds``)
are not forecasts and are left out; of the rest the highest ``version`` (else the latest
``submitted_at``) is kept, i.e. the last forecast made before the period began.

Measures over the matched periods of a series, with e = value - y:

- WAPE = sum|e| / sum|y|   (undefined when sum|y| = 0)
- MAE  = sum|e| / n
- bias = sum(e) / sum|y|   (positive: over-forecast)

FVA of a partner on the statistical forecast, measured only on the series-periods where the
actual, the statistical forecast and the partner's forecast all exist:

- FVA_WAPE = WAPE(statistical) - WAPE(partner), FVA_MAE = MAE(statistical) - MAE(partner);
  positive = the partner's forecast improved on the statistical one.
- Per partner the WAPE and MAE are pooled over all its series-periods; ``share_improved`` is the
  share of its series where the partner's total absolute error is below the statistical one's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .submissions import STATISTICAL

ACCURACY_COLUMNS = ["unique_id", "source", "wape", "mae", "bias", "n"]
FVA_SERIES_COLUMNS = [
    "partner", "unique_id", "n", "wape_statistical", "wape_partner", "fva_wape",
    "mae_statistical", "mae_partner", "fva_mae", "improved",
]
FVA_PARTNER_COLUMNS = [
    "partner", "series", "n", "wape_statistical", "wape_partner", "fva_wape",
    "mae_statistical", "mae_partner", "fva_mae", "series_improved", "share_improved",
]


def _need(df: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; the table has {', '.join(map(str, df.columns))}")


def forecast_lag(submitted_at: pd.Series, ds: pd.Series, freq: str) -> pd.Series:
    """Periods between a forecast's submission and its period: calendar months from the month of
    submission (M), or days / 7 rounded up (W). Zero or less: made once the period had begun."""
    sub = pd.to_datetime(submitted_at, utc=True).dt.tz_convert(None)
    ds = pd.to_datetime(ds)
    if freq == "M":
        return (ds.dt.year - sub.dt.year) * 12 + (ds.dt.month - sub.dt.month)
    return np.ceil((ds - sub) / pd.Timedelta(days=7)).astype(int)


def select_forecasts(forecasts: pd.DataFrame, *, lag: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    """One forecast per ``unique_id, ds, source`` (rule in the module doc), and notes on what
    was left out."""
    _need(forecasts, ["unique_id", "ds", "source", "value"], "forecasts")
    df = forecasts.copy()
    df["ds"] = pd.to_datetime(df["ds"])
    notes: list[str] = []
    if lag is not None:
        _need(df, ["lag"], "forecasts (lag selection)")
        df = df[df["lag"] == lag]
    if "submitted_at" in df.columns:
        sub = pd.to_datetime(df["submitted_at"], utc=True)
        late = (sub >= df["ds"].dt.tz_localize("UTC")).to_numpy()
        if late.any():
            notes.append(f"{int(late.sum())} forecast rows submitted at or after their period began were left out")
        df = df[~late]
    key = ["unique_id", "ds", "source"]
    if df.duplicated(key).any():
        order = [c for c in ("version", "submitted_at") if c in df.columns]
        if not order:
            first = df[df.duplicated(key, keep=False)].iloc[0]
            raise ValueError(
                f"forecasts: several values for series {first['unique_id']}, ds {first['ds'].date()}, source {first['source']}; "
                "add a version, submitted_at or lag column to choose"
            )
        df = df.sort_values([*key, *order], kind="stable").drop_duplicates(key, keep="last")
    return df.reset_index(drop=True), notes


def _errors(joined: pd.DataFrame, value: str) -> pd.DataFrame:
    e = joined[value] - joined["y"]
    return joined.assign(abs_err=e.abs(), err=e, abs_y=joined["y"].abs())


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


def source_accuracy(actuals: pd.DataFrame, forecasts: pd.DataFrame, *, lag: int | None = None) -> pd.DataFrame:
    """``unique_id, source, wape, mae, bias, n`` of every source's past forecasts against the
    actuals (one row per series and source; the consensus weights read ``wape``)."""
    _need(actuals, ["unique_id", "ds", "y"], "actuals")
    picked, _ = select_forecasts(forecasts, lag=lag)
    act = actuals[["unique_id", "ds", "y"]].assign(ds=lambda d: pd.to_datetime(d["ds"]))
    joined = _errors(picked.merge(act, on=["unique_id", "ds"], how="inner"), "value")
    if joined.empty:
        return pd.DataFrame(columns=ACCURACY_COLUMNS)
    g = joined.groupby(["unique_id", "source"], sort=True).agg(
        abs_err=("abs_err", "sum"), err=("err", "sum"), abs_y=("abs_y", "sum"), n=("y", "size")
    ).reset_index()
    g["wape"] = _ratio(g["abs_err"], g["abs_y"])
    g["mae"] = g["abs_err"] / g["n"]
    g["bias"] = _ratio(g["err"], g["abs_y"])
    return g[ACCURACY_COLUMNS]


@dataclass
class FVAResult:
    by_partner: pd.DataFrame  # FVA_PARTNER_COLUMNS
    by_series: pd.DataFrame  # FVA_SERIES_COLUMNS
    notes: list[str] = field(default_factory=list)


def forecast_value_added(
    actuals: pd.DataFrame,
    forecasts: pd.DataFrame,
    *,
    baseline: str = STATISTICAL,
    lag: int | None = None,
) -> FVAResult:
    """FVA of every partner's forecasts on the ``baseline`` source (maths in the module doc)."""
    _need(actuals, ["unique_id", "ds", "y"], "actuals")
    picked, notes = select_forecasts(forecasts, lag=lag)
    act = actuals[["unique_id", "ds", "y"]].assign(ds=lambda d: pd.to_datetime(d["ds"]))
    base = picked[picked["source"] == baseline][["unique_id", "ds", "value"]].rename(columns={"value": "stat"})
    if base.empty:
        raise ValueError(f"forecasts: no past forecasts from the baseline source {baseline!r} to compare with")
    series_rows = []
    for partner in sorted(set(picked["source"]) - {baseline}):
        part = picked[picked["source"] == partner][["unique_id", "ds", "value"]].rename(columns={"value": "partner"})
        m = part.merge(base, on=["unique_id", "ds"]).merge(act, on=["unique_id", "ds"])
        if m.empty:
            notes.append(f"partner {partner!r}: no period with an actual and both forecasts; no FVA")
            continue
        m["ae_stat"] = (m["stat"] - m["y"]).abs()
        m["ae_partner"] = (m["partner"] - m["y"]).abs()
        m["abs_y"] = m["y"].abs()
        g = m.groupby("unique_id", sort=True).agg(
            n=("y", "size"), ae_stat=("ae_stat", "sum"), ae_partner=("ae_partner", "sum"), abs_y=("abs_y", "sum")
        ).reset_index()
        g.insert(0, "partner", partner)
        series_rows.append(g)
    if not series_rows:
        return FVAResult(pd.DataFrame(columns=FVA_PARTNER_COLUMNS), pd.DataFrame(columns=FVA_SERIES_COLUMNS), notes)
    s = pd.concat(series_rows, ignore_index=True)
    s["improved"] = s["ae_partner"] < s["ae_stat"]

    def measures(d: pd.DataFrame) -> pd.DataFrame:
        d["wape_statistical"] = _ratio(d["ae_stat"], d["abs_y"])
        d["wape_partner"] = _ratio(d["ae_partner"], d["abs_y"])
        d["fva_wape"] = d["wape_statistical"] - d["wape_partner"]
        d["mae_statistical"] = d["ae_stat"] / d["n"]
        d["mae_partner"] = d["ae_partner"] / d["n"]
        d["fva_mae"] = d["mae_statistical"] - d["mae_partner"]
        return d

    by_series = measures(s.copy())[FVA_SERIES_COLUMNS]
    p = s.groupby("partner", sort=True).agg(
        series=("unique_id", "nunique"), n=("n", "sum"), ae_stat=("ae_stat", "sum"), ae_partner=("ae_partner", "sum"),
        abs_y=("abs_y", "sum"), series_improved=("improved", "sum"),
    ).reset_index()
    p["share_improved"] = p["series_improved"] / p["series"]
    by_partner = measures(p)[FVA_PARTNER_COLUMNS]
    return FVAResult(by_partner.reset_index(drop=True), by_series.reset_index(drop=True), notes)
