"""From a consensus forecast to a planning scenario: demand and safety-stock targets.

:func:`apply_forecast_to_scenario` fills every ``demand[].quantity`` of a scenario from a forecast
table (one quantile, P50 by default) for the scenario's periods, and optionally sets safety-stock
targets from the forecast's uncertainty.

Periods: period ``t`` of the scenario starts at ``time.start + t`` buckets (weeks or calendar
months); it is matched to the forecast row whose ``ds`` (bucket start: Monday / first of the
month, as in :mod:`forecasting.history`) equals that date. A scenario whose start is not a bucket
start, a demand (site, product) without a forecast, or a forecast missing a period is an error,
never silently skipped. Forecast series with no demand entry in the scenario are reported.

Safety stock (periodic review, normal forecast errors, independent across periods)::

    sigma_t = (p90_t - p10_t) / (2 * 1.2816)          # 1.2816 = z of the 90 % quantile
    SS_t    = z(service level) * sigma_t * sqrt(R + L)

with ``z = scipy.stats.norm.ppf(service level)`` (cycle service level), ``R`` the review period
(1 period: the plan re-orders every period) and ``L`` the replenishment lead time in periods:
the ``lead_time`` of the lane that supplies the site with the product in the scenario (the lane
from its parent in :class:`~forecasting.hierarchy.SiteHierarchy`; the longest if several), unless
given explicitly. Stores use their own forecast's quantiles; DCs use the quantiles of their
reconciled aggregate (see :mod:`forecasting.hierarchy`, which documents how P10/P90 of an
aggregate are formed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from scenarios.fields import Problem
from scenarios.schema import Frequency, Scenario, SiteProduct, period_starts
from scenarios.validation import ScenarioError, errors_of, validate_scenario

from .hierarchy import ReconciliationConfig, SiteHierarchy, reconcile_forecasts, with_product_site
from .keys import series_id

Z90 = float(norm.ppf(0.9))  # 1.2816: p90 - p10 spans 2 * Z90 standard deviations
QUANTILES = ("p10", "p50", "p90")
DEMAND_REPORT_COLUMNS = ["site", "product", "quantile", "periods_filled", "total_before", "total_after"]
SAFETY_STOCK_REPORT_COLUMNS = ["site", "product", "level", "lead_time", "lead_time_source", "review_period", "z",
                               "sigma_mean", "safety_stock_mean", "safety_stock_max"]


class ForecastCoverageError(ValueError):
    """The forecast cannot fill the scenario; ``problems`` lists every gap found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("forecast does not cover the scenario:\n" + "\n".join(f"  {p}" for p in problems))


@dataclass
class ScenarioFillReport:
    """What :func:`apply_forecast_to_scenario` changed.

    ``demand``: one row per demand entry (site, product, quantile, periods_filled, total_before,
    total_after). ``safety_stock``: one row per target set (site, product, level, lead_time,
    review_period, z, sigma_mean, safety_stock_mean, safety_stock_max). ``unmatched_series``:
    forecast series (``product/site``) with no demand entry in the scenario.
    """

    demand: pd.DataFrame
    safety_stock: pd.DataFrame
    unmatched_series: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"demand filled for {len(self.demand)} site-product(s), "
            f"total {self.demand['total_before'].sum():,.0f} -> {self.demand['total_after'].sum():,.0f} units"
        ]
        if len(self.safety_stock):
            out.append(f"safety stock set for {len(self.safety_stock)} site-product(s)")
        if self.unmatched_series:
            out.append(
                f"{len(self.unmatched_series)} forecast series have no demand in the scenario: "
                + ", ".join(self.unmatched_series[:10])
                + (" ..." if len(self.unmatched_series) > 10 else "")
            )
        out += self.notes
        out += [str(w) for w in self.warnings]
        return out


def scenario_period_starts(scenario: Scenario) -> pd.DatetimeIndex:
    """Start date of each scenario period; the start must be a forecast bucket start."""
    start = pd.Timestamp(scenario.time.start)
    if scenario.time.freq == Frequency.weekly:
        if start.weekday() != 0:
            raise ForecastCoverageError(
                [f"time.start {start.date()} is a {start.day_name()}; weekly forecast buckets start on Mondays"]
            )
        return pd.DatetimeIndex(period_starts(scenario.time))
    if start.day != 1:
        raise ForecastCoverageError(
            [f"time.start {start.date()} is not the first of a month; monthly forecast buckets start on the 1st"]
        )
    return pd.DatetimeIndex(period_starts(scenario.time))


def safety_stock(p10: np.ndarray, p90: np.ndarray, *, service_level: float, lead_time: int, review_period: int = 1) -> np.ndarray:
    """``z(service_level) * (p90 - p10) / (2 * 1.2816) * sqrt(review_period + lead_time)`` per period."""
    _check_service_level(service_level)
    sigma = np.clip(np.asarray(p90, float) - np.asarray(p10, float), 0.0, None) / (2.0 * Z90)
    return float(norm.ppf(service_level)) * sigma * math.sqrt(review_period + lead_time)


def _check_service_level(service_level: float) -> None:
    if not (0.5 <= service_level < 1.0):
        raise ValueError(f"safety_stock_service_level must be in [0.5, 1), got {service_level}")


def _normalise(forecast: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    df = forecast.rename(columns={"date": "ds"}) if "ds" not in forecast.columns else forecast
    if "ds" not in df.columns:
        raise ValueError("forecast needs a 'ds' (or 'date') column")
    if "level" in df.columns:  # a reconciled table: every site node once, totals have no site
        df = df[df["site"].notna()].copy()
        df["product"] = df["product"].astype(str)
        df["site"] = df["site"].astype(str)
    else:
        df = with_product_site(df, keys)
        df["level"] = "store"
        df["bottom"] = True
    df["ds"] = pd.to_datetime(df["ds"])
    dup = df.duplicated(["site", "product", "ds"])
    if dup.any():
        r = df[dup].iloc[0]
        raise ValueError(
            f"forecast has more than one row for site {r['site']!r}, product {r['product']!r}, "
            f"ds {r['ds'].date()}; one row per (site, product, ds)"
        )
    return df


def _values(df: pd.DataFrame, column: str, dates: pd.DatetimeIndex, what: str, problems: list[str]) -> np.ndarray | None:
    """Values of ``column`` at ``dates`` for one series; a missing or invalid period is a problem."""
    s = df.set_index("ds")[column].reindex(dates)
    missing = s.index[s.isna()]
    if len(missing):
        problems.append(
            f"{what}: no {column} for {len(missing)} of {len(dates)} period(s), first {missing[0].date()}"
        )
        return None
    if (s < 0).any():
        problems.append(f"{what}: negative {column} at {s.index[s < 0][0].date()}")
        return None
    return s.to_numpy(dtype=float)


def _as_list(series, T: int) -> list[float]:
    return [float(v) for v in series] if isinstance(series, list) else [float(series)] * T


def _inbound_lead_time(scenario: Scenario, hierarchy: SiteHierarchy, site: str, product: str) -> int | None:
    parents = hierarchy.parents_of(site, product)
    lanes = [
        lane
        for lane in scenario.lanes
        if lane.destination == site
        and lane.origin in parents
        and (lane.products is None or product in lane.products)
    ]
    return max((lane.lead_time for lane in lanes), default=None)


def apply_forecast_to_scenario(
    scenario: Scenario,
    forecast: pd.DataFrame,
    *,
    quantile: str = "p50",
    safety_stock_service_level: float | None = None,
    lead_time: int | dict[str, int] | None = None,
    periods: Sequence[int] | None = None,
    review_period: int = 1,
    safety_stock_levels: Sequence[Literal["store", "dc", "plant"]] = ("store", "dc"),
    hierarchy: SiteHierarchy | None = None,
    aggregate_intervals: Literal["independent", "comonotonic"] = "independent",
    keys: Sequence[str] = ("product", "site"),
) -> tuple[Scenario, ScenarioFillReport]:
    """Fill a scenario's demand from a forecast and optionally set safety-stock targets.

    ``forecast``: ``ds`` (or ``date``), ``p10``/``p50``/``p90``, and product/site columns or a
    ``unique_id`` whose ``/``-joined parts are named by ``keys``; or a reconciled table from
    :func:`forecasting.hierarchy.reconcile_forecasts` (``.table``), whose DC rows then give the
    DCs' quantiles. ``quantile``: the column that becomes demand. ``periods``: scenario period
    indices to fill (default all; others keep their demand and safety stock, e.g. a frozen zone
    of confirmed orders). ``safety_stock_service_level``: cycle service level in [0.5, 1); when
    given, targets are set for demand sites (``store``) and, via the hierarchy, for the sites that
    supply them (``dc``, ``plant``) as listed in ``safety_stock_levels``. ``lead_time``: periods,
    one for every site or per site id; default the inbound lane's lead time. ``hierarchy``:
    default :meth:`SiteHierarchy.from_scenario`.

    Returns the new, validated scenario (warnings in the report) and a :class:`ScenarioFillReport`.
    Raises :class:`ForecastCoverageError` listing every missing series or period.
    """
    want_ss = safety_stock_service_level is not None
    _check_options(forecast, quantile, review_period, safety_stock_service_level, safety_stock_levels, lead_time)
    T = scenario.time.periods
    fill_idx, fill_dates = _fill_periods(scenario, periods)
    df = _normalise(forecast, keys)
    hierarchy = hierarchy or SiteHierarchy.from_scenario(scenario)
    new = scenario.model_copy(deep=True)
    values, bottom_for_dc = _demand_forecasts(new, df, fill_dates, [quantile] + (["p10", "p90"] if want_ss else []))
    demand_rows = _fill_demand(new, values, quantile, fill_idx, T)
    unmatched, notes = _unused(df, values, fill_dates)
    ss_rows = []
    if want_ss:
        targets = {key: ("store", got["p10"], got["p90"]) for key, got in values.items()} \
            if "store" in safety_stock_levels else {}
        upper_levels = [lvl for lvl in safety_stock_levels if lvl != "store"]
        if upper_levels:
            agg = _upper_quantiles(df, "level" in forecast.columns, bottom_for_dc, fill_dates, hierarchy,
                                   aggregate_intervals, notes)
            targets.update(_upper_targets(new, agg, upper_levels, fill_dates))
        ss_rows = _set_safety_stock(new, scenario, targets, hierarchy, lead_time, safety_stock_service_level,
                                    review_period, fill_idx, notes)
    checked = Scenario.model_validate(new.model_dump(exclude_unset=True))  # what was left unset stays unset
    found = validate_scenario(checked)
    if errors_of(found):
        raise ScenarioError(found)
    report = ScenarioFillReport(
        demand=pd.DataFrame(demand_rows, columns=DEMAND_REPORT_COLUMNS),
        safety_stock=pd.DataFrame(ss_rows, columns=SAFETY_STOCK_REPORT_COLUMNS),
        unmatched_series=unmatched,
        notes=notes + list(hierarchy.notes),
        warnings=[p for p in found if p.severity != "error"],
    )
    return checked, report


def _check_options(forecast: pd.DataFrame, quantile: str, review_period: int, service_level: float | None,
                   levels: Sequence[str], lead_time: int | dict[str, int] | None) -> None:
    """Refuse options :func:`apply_forecast_to_scenario` cannot use, naming the option."""
    if quantile not in forecast.columns:
        raise ValueError(f"quantile {quantile!r} is not a column of the forecast (columns: {list(forecast.columns)})")
    if review_period < 0:
        raise ValueError(f"review_period must be >= 0 periods, got {review_period}")
    if service_level is not None:
        _check_service_level(service_level)
        missing_q = [q for q in ("p10", "p90") if q not in forecast.columns]
        if missing_q:
            raise ValueError(f"safety stock needs forecast columns p10 and p90; missing {missing_q}")
        unknown_levels = set(levels) - {"store", "dc", "plant"}
        if unknown_levels:
            raise ValueError(f"safety_stock_levels must be store, dc or plant; got {sorted(unknown_levels)}")
    given = lead_time.values() if isinstance(lead_time, dict) else [] if lead_time is None else [lead_time]
    if any(int(v) != v or v < 0 for v in given):
        raise ValueError(f"lead_time must be whole periods >= 0, got {lead_time}")


def _fill_periods(scenario: Scenario, periods: Sequence[int] | None) -> tuple[list[int], pd.DatetimeIndex]:
    """The period indices to fill (default all) and their start dates."""
    T = scenario.time.periods
    dates = scenario_period_starts(scenario)
    if periods is None:
        fill_idx = list(range(T))
    else:
        fill_idx = sorted(set(int(t) for t in periods))
        bad = [t for t in fill_idx if not 0 <= t < T]
        if bad or not fill_idx:
            raise ValueError(f"periods must be indices in 0..{T - 1}; got {list(periods)}")
    return fill_idx, dates[fill_idx]


def _demand_forecasts(scenario: Scenario, df: pd.DataFrame, fill_dates: pd.DatetimeIndex, quantiles: list[str]
                      ) -> tuple[dict[tuple[str, str], dict[str, np.ndarray]], list[pd.DataFrame]]:
    """Per demand (site, product) the values of ``quantiles`` at the filled periods, and the
    forecast rows of those series; :class:`ForecastCoverageError` listing every gap."""
    groups = {key: g for key, g in df.groupby(["site", "product"], sort=False)}
    problems: list[str] = []
    values: dict[tuple[str, str], dict[str, np.ndarray]] = {}
    rows: list[pd.DataFrame] = []
    for i, d in enumerate(scenario.demand):
        g = groups.get((d.site, d.product))
        what = f"demand[{i}] site {d.site!r} product {d.product!r}"
        if g is None:
            problems.append(f"{what}: no forecast series")
            continue
        got = {q: _values(g, q, fill_dates, what, problems) for q in dict.fromkeys(quantiles)}
        if any(v is None for v in got.values()):
            continue
        values[(d.site, d.product)] = got
        rows.append(g)
    if problems:
        raise ForecastCoverageError(problems)
    return values, rows


def _fill_demand(scenario: Scenario, values: dict[tuple[str, str], dict[str, np.ndarray]], quantile: str,
                 fill_idx: list[int], T: int) -> list[dict]:
    """Write the ``quantile`` into every demand's filled periods (in place); the report rows."""
    rows = []
    for d in scenario.demand:
        before = _as_list(d.quantity, T)
        after = list(before)
        for t, v in zip(fill_idx, values[(d.site, d.product)][quantile]):
            after[t] = float(v)
        d.quantity = after
        rows.append({"site": d.site, "product": d.product, "quantile": quantile, "periods_filled": len(fill_idx),
                     "total_before": float(sum(before)), "total_after": float(sum(after))})
    return rows


def _unused(df: pd.DataFrame, values: dict[tuple[str, str], dict[str, np.ndarray]], fill_dates: pd.DatetimeIndex
            ) -> tuple[list[str], list[str]]:
    """The forecast series with no demand in the scenario (``product/site``), and a note on the
    forecast rows outside the filled periods."""
    bottom = df[df["bottom"].astype(bool)] if "bottom" in df.columns else df
    unmatched = sorted({series_id([p, s]) for s, p in zip(bottom["site"], bottom["product"]) if (s, p) not in values})
    outside = int((~df["ds"].isin(fill_dates)).sum())
    return unmatched, [f"{outside} forecast row(s) outside the filled periods were not used"] if outside else []


def _upper_quantiles(df: pd.DataFrame, reconciled: bool, bottom_for_dc: list[pd.DataFrame],
                     fill_dates: pd.DatetimeIndex, hierarchy: SiteHierarchy,
                     aggregate_intervals: Literal["independent", "comonotonic"], notes: list[str]) -> pd.DataFrame:
    """The quantiles of the sites above the demand sites: the reconciled table's own, else the
    bottom-up aggregate of the demand series (:mod:`forecasting.hierarchy`)."""
    if reconciled:
        return df[~df["bottom"].astype(bool)]
    matched = pd.concat(bottom_for_dc)[["product", "site", "ds", "p10", "p50", "p90"]]
    matched = matched[matched["ds"].isin(fill_dates)]
    rec = reconcile_forecasts(matched, hierarchy,
                              config=ReconciliationConfig(method="bottom_up", intervals=aggregate_intervals))
    notes.append(f"upper-level quantiles: bottom-up over the demand sites, {aggregate_intervals} errors")
    return rec.table[~rec.table["bottom"] & rec.table["site"].notna()]


def _upper_targets(scenario: Scenario, agg: pd.DataFrame, levels: list[str], fill_dates: pd.DatetimeIndex
                   ) -> dict[tuple[str, str], tuple[str, np.ndarray, np.ndarray]]:
    """(site, product) -> (level, P10, P90) of the scenario's sites at ``levels``; a missing
    period is a :class:`ForecastCoverageError`."""
    problems: list[str] = []
    targets = {}
    site_ids = {s.id for s in scenario.sites}
    for (site, product), g in agg[agg["level"].isin(levels)].groupby(["site", "product"]):
        if site not in site_ids:
            continue
        lo = _values(g, "p10", fill_dates, f"{site}/{product}", problems)
        hi = _values(g, "p90", fill_dates, f"{site}/{product}", problems)
        if lo is not None and hi is not None:
            targets[(site, product)] = (str(g["level"].iloc[0]), lo, hi)
    if problems:
        raise ForecastCoverageError(problems)
    return targets


def _lead_time(original: Scenario, hierarchy: SiteHierarchy, lead_time: int | dict[str, int] | None, site_id: str,
               product: str, notes: list[str]) -> tuple[int, str]:
    """The lead time used for a site's safety stock and where it comes from (given, lane, none)."""
    if isinstance(lead_time, dict):
        L, source = lead_time.get(site_id), "given"
    elif lead_time is not None:
        L, source = lead_time, "given"
    else:
        L, source = None, "lane"
    if L is None:
        L, source = _inbound_lead_time(original, hierarchy, site_id, product), "lane"
        if L is None:
            L, source = 0, "none"
            notes.append(f"{site_id}/{product}: no inbound lane, lead time 0")
    return L, source


def _set_safety_stock(scenario: Scenario, original: Scenario,
                      targets: dict[tuple[str, str], tuple[str, np.ndarray, np.ndarray]], hierarchy: SiteHierarchy,
                      lead_time: int | dict[str, int] | None, service_level: float, review_period: int,
                      fill_idx: list[int], notes: list[str]) -> list[dict]:
    """Write each target's safety stock into the filled periods (in place; a site without
    settings for the product gets them); the report rows."""
    T = scenario.time.periods
    z = float(norm.ppf(service_level))
    sites = {s.id: s for s in scenario.sites}
    rows = []
    for (site_id, product), (level, p10, p90) in sorted(targets.items()):
        L, source = _lead_time(original, hierarchy, lead_time, site_id, product, notes)
        ss = safety_stock(p10, p90, service_level=service_level, lead_time=L, review_period=review_period)
        site = sites[site_id]
        sp = next((x for x in site.products if x.product == product), None)
        if sp is None:
            sp = SiteProduct(product=product)
            site.products = [*site.products, sp]
            notes.append(f"{site_id}/{product}: site had no settings for the product; added with safety stock only")
        series = _as_list(sp.safety_stock, T)
        for t, v in zip(fill_idx, ss):
            series[t] = float(v)
        sp.safety_stock = series
        rows.append({"site": site_id, "product": product, "level": level, "lead_time": int(L),
                     "lead_time_source": source, "review_period": review_period, "z": z,
                     "sigma_mean": float(np.mean(np.clip(p90 - p10, 0, None) / (2 * Z90))),
                     "safety_stock_mean": float(np.mean(ss)), "safety_stock_max": float(np.max(ss))})
    return rows
