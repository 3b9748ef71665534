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
    grouped.insert(0, "unique_id", grouped[keys].agg("/".join, axis=1))

    offset = pd.offsets.Week(weekday=0) if freq == "W" else pd.offsets.MonthBegin()
    pieces = []
    gap_problems: list[HistoryProblem] = []
    for uid, g in grouped.groupby("unique_id", sort=True):
        full = pd.date_range(g["ds"].min(), g["ds"].max(), freq=offset)
        g = g.set_index("ds").reindex(full)
        missing = int(g["y"].isna().sum())
        if missing:
            if gaps == "error":
                first = g.index[g["y"].isna()][0].date()
                gap_problems.append(HistoryProblem("ds", f"series {uid} has {missing} missing bucket(s), first {first}"))
                continue
            report.gaps_filled[uid] = missing
            if gaps == "zero":
                g["y"] = g["y"].fillna(0.0)
            else:
                g["y"] = g["y"].interpolate(method="linear")
            for r in spec.regressors:
                g[r] = g[r].interpolate(method="linear").ffill().bfill()
            g[keys] = g[keys].ffill().bfill()
            g["unique_id"] = uid
        pieces.append(g.rename_axis("ds").reset_index())
    if gap_problems:
        raise HistoryError(gap_problems)
    out = pd.concat(pieces, ignore_index=True)[["unique_id", *keys, "ds", "y", *spec.regressors]]
    report.series = out["unique_id"].nunique()
    report.buckets_out = len(out)
    return out, report
