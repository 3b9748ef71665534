"""CPFR exception rules: where forecasts disagree, where a forecast has been wrong, where service
fell short. Rules are configured per collaboration; each exception names the series, periods,
sources, values, the rule broken, its severity and the partner who owns the resolution.

Forecasts come in long format: ``unique_id``, ``ds``, ``source`` (``statistical`` or a partner
id) and ``value``.
"""

from __future__ import annotations

from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

EXCEPTION_COLUMNS = [
    "unique_id", "ds", "rule", "kind", "sources", "values", "measure", "limit", "severity", "owner", "message",
]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(description="Rule name, cited by each exception it raises")
    owner: str | None = Field(None, description="Partner who resolves the exception; omitted: see each rule")


class ToleranceRule(_Rule):
    """Two sources for the same series and period differ by more than the tolerance: more than
    ``relative`` (fraction of the larger value) AND more than ``absolute`` units, where given."""

    kind: Literal["tolerance"] = "tolerance"
    sources: list[str] | None = Field(
        None, description="Sources compared pairwise; omitted: every pair present"
    )
    relative: float | None = Field(None, ge=0, description="Relative tolerance [fraction]")
    absolute: float | None = Field(None, ge=0, description="Absolute tolerance [units]")

    @model_validator(mode="after")
    def _one_tolerance(self):
        if self.relative is None and self.absolute is None:
            raise ValueError("give relative, absolute or both")
        return self


class ErrorRule(_Rule):
    """A source's forecast error on history (WAPE over the last ``window`` periods) above ``limit``."""

    kind: Literal["error"] = "error"
    limit: float = Field(gt=0, description="Largest acceptable WAPE [fraction]")
    window: int = Field(8, ge=1, description="Periods of history measured [periods]")


class ServiceRule(_Rule):
    """In-stock (share of periods with stock) or fill rate (share of demand served) below target."""

    kind: Literal["service"] = "service"
    measure: Literal["in_stock", "fill_rate"] = Field(description="in_stock or fill_rate")
    target: float = Field(gt=0, le=1, description="Agreed minimum [fraction]")


def _severity(ratio: float) -> str:
    """How far past its limit a measure is: up to 1.5x low, up to 3x medium, beyond high."""
    if ratio <= 1.5:
        return "low"
    if ratio <= 3.0:
        return "medium"
    return "high"


def tolerance_exceptions(forecasts: pd.DataFrame, rule: ToleranceRule) -> pd.DataFrame:
    """Every (series, period, pair of sources) whose values differ beyond the rule's tolerance."""
    wide = forecasts.pivot_table(index=["unique_id", "ds"], columns="source", values="value", aggfunc="last")
    sources = [s for s in (rule.sources or list(wide.columns)) if s in wide.columns]
    rows = []
    for a, b in combinations(sources, 2):
        va, vb = wide[a], wide[b]
        both = va.notna() & vb.notna()
        diff = (va - vb).abs()
        big = np.maximum(va.abs(), vb.abs())
        breach = both.copy()
        ratios = pd.Series(np.inf, index=wide.index)
        if rule.relative is not None:
            rel = diff / big.where(big > 0)
            breach &= rel.fillna(0) > rule.relative
            ratios = np.minimum(ratios, rel / rule.relative if rule.relative > 0 else np.inf)
        if rule.absolute is not None:
            breach &= diff > rule.absolute
            ratios = np.minimum(ratios, diff / rule.absolute if rule.absolute > 0 else np.inf)
        for (uid, ds), ratio in ratios[breach].items():
            x, y = float(va[(uid, ds)]), float(vb[(uid, ds)])
            owner = rule.owner or (b if a == "statistical" else a)
            rows.append({
                "unique_id": uid, "ds": ds, "rule": rule.name, "kind": "tolerance",
                "sources": f"{a} vs {b}", "values": f"{x:g} vs {y:g}",
                "measure": abs(x - y), "limit": rule.absolute if rule.absolute is not None else rule.relative,
                "severity": _severity(float(ratio)), "owner": owner,
                "message": f"{a} ({x:g}) and {b} ({y:g}) differ by {abs(x - y):g}"
                + (f" ({abs(x - y) / max(abs(x), abs(y)):.0%})" if max(abs(x), abs(y)) > 0 else ""),
            })
    return pd.DataFrame(rows, columns=EXCEPTION_COLUMNS)


def error_exceptions(forecasts: pd.DataFrame, actuals: pd.DataFrame, rule: ErrorRule) -> pd.DataFrame:
    """Sources whose WAPE over the last ``window`` periods of actuals exceeds the limit.
    ``actuals`` is long format with ``unique_id``, ``ds``, ``y``."""
    joined = forecasts.merge(actuals[["unique_id", "ds", "y"]], on=["unique_id", "ds"], how="inner")
    rows = []
    for (uid, source), g in joined.groupby(["unique_id", "source"], sort=True):
        g = g.sort_values("ds").tail(rule.window)
        denom = g["y"].abs().sum()
        if denom <= 0:
            continue
        wape = float((g["value"] - g["y"]).abs().sum() / denom)
        if wape > rule.limit:
            rows.append({
                "unique_id": uid, "ds": g["ds"].max(), "rule": rule.name, "kind": "error",
                "sources": source, "values": f"WAPE {wape:.1%} over {len(g)} periods",
                "measure": wape, "limit": rule.limit, "severity": _severity(wape / rule.limit),
                "owner": rule.owner or source,
                "message": f"{source}'s forecast error {wape:.1%} is above the {rule.limit:.0%} limit",
            })
    return pd.DataFrame(rows, columns=EXCEPTION_COLUMNS)


def service_exceptions(service: pd.DataFrame, rule: ServiceRule) -> pd.DataFrame:
    """Series whose in-stock or fill rate over the given periods is below target. ``service`` has
    ``unique_id``, ``ds`` and either ``on_hand`` (in-stock: share of periods with on_hand > 0) or
    ``demand`` and ``served`` (fill rate: served / demand)."""
    rows = []
    for uid, g in service.groupby("unique_id", sort=True):
        if rule.measure == "in_stock":
            value = float((g["on_hand"] > 0).mean())
        else:
            demand = g["demand"].sum()
            if demand <= 0:
                continue
            value = float(g["served"].sum() / demand)
        if value < rule.target:
            shortfall = (rule.target - value) / rule.target
            rows.append({
                "unique_id": uid, "ds": g["ds"].max(), "rule": rule.name, "kind": "service",
                "sources": rule.measure, "values": f"{value:.1%}", "measure": value, "limit": rule.target,
                "severity": "high" if shortfall > 0.1 else ("medium" if shortfall > 0.03 else "low"),
                "owner": rule.owner or "",
                "message": f"{rule.measure.replace('_', '-')} {value:.0%} against a {rule.target:.0%} criterion",
            })
    return pd.DataFrame(rows, columns=EXCEPTION_COLUMNS)
