"""Shared sales history in long format: reading, checking, cleaning and bucketing.

A history table has one or more key columns (partner, product, site, ...), a date column and
a quantity column, plus optional regressor columns (promotions, price). Column names are
mapped by :class:`HistorySpec`, so a partner's own export can be read as it is.

The output is long format, statsforecast style: the key columns, ``unique_id`` (the keys
joined by ``/``), ``ds`` (start of the planning bucket) and ``y``, plus regressors.
Nothing is dropped silently: :func:`prepare_history` returns a :class:`CleaningReport` of
everything it changed, and refuses data it cannot repair without a stated policy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .keys import join_keys

GapPolicy = Literal["zero", "interpolate", "error"]
Freq = Literal["W", "M"]

_PERIOD = {"W": "W-SUN", "M": "M"}  # weeks run Monday..Sunday; ds is the Monday


@dataclass(frozen=True)
class HistoryProblem:
    column: str
    message: str
    rows: tuple[int, ...] = ()

    def __str__(self) -> str:
        where = f" (rows {', '.join(map(str, self.rows[:10]))}{' ...' if len(self.rows) > 10 else ''})" if self.rows else ""
        return f"{self.column}: {self.message}{where}"


class HistoryError(ValueError):
    def __init__(self, problems: list[HistoryProblem]):
        self.problems = problems
        super().__init__("invalid history:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class HistorySpec:
    """How to read a history table. ``keys=None`` means every column that is not the date,
    the quantity or a regressor."""

    date: str = "date"
    quantity: str = "quantity"
    keys: list[str] | None = None
    regressors: list[str] = field(default_factory=list)
    date_format: str | None = None


@dataclass
class CleaningReport:
    rows_in: int = 0
    rows_aggregated: int = 0  # input rows merged into coarser buckets
    gaps_filled: dict[str, int] = field(default_factory=dict)  # unique_id -> buckets filled
    gap_policy: str = "zero"
    series: int = 0
    buckets_out: int = 0

    def lines(self) -> list[str]:
        out = [f"{self.rows_in} rows read, {self.series} series, {self.buckets_out} series-buckets out"]
        if self.rows_aggregated:
            out.append(f"{self.rows_aggregated} rows at a finer grain were summed into planning buckets")
        if self.gaps_filled:
            total = sum(self.gaps_filled.values())
            out.append(f"{total} missing buckets in {len(self.gaps_filled)} series filled by '{self.gap_policy}'")
        return out


def read_table(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """A DataFrame from a CSV or Parquet file, or the DataFrame itself (copied)."""
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.exists():
        raise HistoryError([HistoryProblem(str(path), "file not found")])
    if path.suffix.lower() in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def check_columns(df: pd.DataFrame, spec: HistorySpec) -> list[str]:
    """The key columns; raises if a named column is missing."""
    missing = [c for c in [spec.date, spec.quantity, *spec.regressors, *(spec.keys or [])] if c not in df.columns]
    if missing:
        raise HistoryError(
            [HistoryProblem(c, f"column not found; the table has {', '.join(map(str, df.columns))}") for c in missing]
        )
    keys = spec.keys if spec.keys is not None else [
        c for c in df.columns if c not in {spec.date, spec.quantity, *spec.regressors}
    ]
    if not keys:
        raise HistoryError([HistoryProblem("(keys)", "no key column: name at least one (e.g. product)")])
    return keys


def check_values(df: pd.DataFrame, spec: HistorySpec, keys: list[str]) -> tuple[pd.DataFrame, list[HistoryProblem]]:
    """Parse dates and numbers; report unparseable, missing, negative and duplicate rows.
    Row numbers are 1-based data rows (the header is row 0)."""
    problems: list[HistoryProblem] = []
    out = df.copy()
    rowno = np.arange(1, len(df) + 1)
    dates = pd.to_datetime(out[spec.date], format=spec.date_format, errors="coerce")
    bad = dates.isna().to_numpy()
    if bad.any():
        problems.append(HistoryProblem(spec.date, "unparseable or missing date", tuple(rowno[bad].tolist())))
    out[spec.date] = dates
    for col in [spec.quantity, *spec.regressors]:
        values = pd.to_numeric(out[col], errors="coerce")
        bad = values.isna().to_numpy()
        if bad.any():
            problems.append(HistoryProblem(col, "not a number or missing", tuple(rowno[bad].tolist())))
        out[col] = values
    neg = (out[spec.quantity] < 0).to_numpy()
    if neg.any():
        problems.append(HistoryProblem(spec.quantity, "negative quantity", tuple(rowno[neg].tolist())))
    for k in keys:
        blank = out[k].isna().to_numpy() | (out[k].astype(str).str.strip() == "").to_numpy()
        if blank.any():
            problems.append(HistoryProblem(k, "missing key value", tuple(rowno[blank].tolist())))
    dup = out.duplicated(subset=[*keys, spec.date], keep=False).to_numpy() & ~out[spec.date].isna().to_numpy()
    if dup.any():
        problems.append(HistoryProblem(spec.date, "duplicate rows for the same keys and date", tuple(rowno[dup].tolist())))
    return out, problems


def fill_gaps(grouped: pd.DataFrame, keys: list[str], regressors: list[str], freq: Freq,
              gaps: GapPolicy) -> tuple[pd.DataFrame, dict[str, tuple[int, pd.Timestamp]]]:
    """Every bucket between each series' first and last observation, in one pass over arrays.

    ``grouped``: one row per (unique_id, ds), sorted by unique_id then ds, ds at bucket starts.
    Bucket ``b`` of a series that starts at bucket ``f`` sits at row ``start + (b - f)`` of the
    full table; a missing ``y`` is 0 (``zero``) or linear between its neighbours in the same
    series (``interpolate``: a series' first and last buckets are observed, so each gap lies
    inside one series and one interpolation over the concatenated series is exact); regressors
    are interpolated likewise. Returns the full table and, per series with gaps, (missing
    buckets, first missing bucket); with ``error`` the table is not filled."""
    period = _PERIOD[freq]
    ordinal = pd.PeriodIndex(grouped["ds"], freq=period).asi8
    codes, uniques = pd.factorize(grouped["unique_id"], sort=False)  # in order: grouped is sorted
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    ends = np.r_[starts[1:], len(codes)] - 1
    first, last = ordinal[starts], ordinal[ends]
    length = last - first + 1
    offset = np.r_[0, np.cumsum(length)[:-1]]
    position = offset[codes] + (ordinal - first[codes])
    total = int(length.sum())
    series = np.repeat(np.arange(len(starts)), length)
    full_ordinal = first[series] + (np.arange(total) - offset[series])
    observed = np.zeros(total, dtype=bool)
    observed[position] = True
    missing_count = length - (ends - starts + 1)
    missing: dict[str, tuple[int, pd.Timestamp]] = {}
    if missing_count.any():
        gap_series = np.flatnonzero(missing_count)
        first_gap = np.flatnonzero(~observed)  # ascending: the first hole of each series comes first
        first_gap_of = dict(zip(series[first_gap][::-1].tolist(), first_gap[::-1].tolist()))
        stamps = pd.PeriodIndex.from_ordinals(full_ordinal[[first_gap_of[i] for i in gap_series]], freq=period)
        missing = {str(uniques[i]): (int(missing_count[i]), t)
                   for i, t in zip(gap_series, stamps.to_timestamp(how="start"))}
    if gaps == "error" and missing:
        return grouped, missing
    out = pd.DataFrame({"unique_id": np.asarray(uniques, dtype=object)[series]})
    for k in keys:
        out[k] = grouped[k].to_numpy()[starts][series]
    out["ds"] = pd.PeriodIndex.from_ordinals(full_ordinal, freq=period).to_timestamp(how="start")
    index = np.arange(total)
    for column in ["y", *regressors]:
        values = np.full(total, np.nan)
        values[position] = grouped[column].to_numpy(dtype=float)
        if not observed.all():
            if column == "y" and gaps == "zero":
                values[~observed] = 0.0
            else:
                values[~observed] = np.interp(index[~observed], index[observed], values[observed])
        out[column] = values
    return out, missing


def bucket_start(dates: pd.Series, freq: Freq) -> pd.Series:
    return dates.dt.to_period(_PERIOD[freq]).dt.start_time


def prepare_history(
    source: str | Path | pd.DataFrame,
    spec: HistorySpec | None = None,
    *,
    freq: Freq = "W",
    gaps: GapPolicy = "zero",
) -> tuple[pd.DataFrame, CleaningReport]:
    """Read, check, bucket and gap-fill a history table.

    Quantities in finer buckets are summed into the planning bucket (weeks from Monday, or
    calendar months); regressors are averaged. Buckets missing between a series' first and last
    observation are gaps: filled with 0 (no sales recorded), linearly interpolated, or refused.
    """
    spec = spec or HistorySpec()
    if freq not in _PERIOD:
        raise HistoryError([HistoryProblem("freq", f"must be W or M, got {freq!r}")])
    if gaps not in ("zero", "interpolate", "error"):
        raise HistoryError([HistoryProblem("gaps", f"must be zero, interpolate or error, got {gaps!r}")])
    raw = read_table(source)
    keys = check_columns(raw, spec)
    df, problems = check_values(raw, spec, keys)
    if problems:
        raise HistoryError(problems)
    report = CleaningReport(rows_in=len(df), gap_policy=gaps)
    df[keys] = df[keys].astype(str)
    df["ds"] = bucket_start(df[spec.date], freq)
    agg = {spec.quantity: "sum", **{r: "mean" for r in spec.regressors}}
    grouped = df.groupby([*keys, "ds"], sort=True).agg(agg).reset_index()
    report.rows_aggregated = len(df) - len(grouped) if len(df) > len(grouped) else 0
    grouped = grouped.rename(columns={spec.quantity: "y"})
    grouped.insert(0, "unique_id", join_keys(grouped, keys))
    out, missing = fill_gaps(grouped.sort_values(["unique_id", "ds"], kind="stable", ignore_index=True),
                             keys, spec.regressors, freq, gaps)
    if gaps == "error" and missing:
        raise HistoryError([HistoryProblem("ds", f"series {u} has {n} missing bucket(s), first {first.date()}")
                            for u, (n, first) in missing.items()])
    report.gaps_filled = {u: n for u, (n, _first) in missing.items()}
    report.series = out["unique_id"].nunique()
    report.buckets_out = len(out)
    return out, report
