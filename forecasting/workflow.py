"""The CPFR workflow, written once for every front end: the ``jointplan`` commands (over a
:class:`~forecasting.store.FileStore`), the service's routes (over ``api.store.DatabaseStore``)
and the web workbench behind them. Each step is a function of a store
(:class:`~forecasting.store.CPFRStore`) and keyword options; it returns data and never prints.

history -> statistical forecast run -> partner submissions -> exceptions -> resolutions ->
consensus (with forecast value added) -> scenario:

- :func:`actuals`: the sales history bucketed as ``unique_id, ds, y`` (gaps inside a series: 0).
- :func:`save_statistical_run`, :func:`submit_forecast`, :func:`record_resolution`: the writes.
- :func:`gather_accuracy`: per (series, source) the WAPE the consensus weights read.
- :func:`run_exceptions`: the collaboration's rules applied to the latest forecasts.
- :func:`run_consensus`: the consensus of the latest forecasts, overridden by the resolutions.
- :func:`value_added`: forecast value added of the partners' past submissions.
- :func:`fill_scenario`: a scenario's demand (and safety stock) from a consensus table.

The maths of each step is in its module (:mod:`forecasting.consensus`, :mod:`forecasting.fva`,
:mod:`forecasting.exceptions`, :mod:`forecasting.to_scenario`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal, Mapping, Sequence

import pandas as pd

from scenarios.schema import Scenario

from .consensus import DEFAULT_WAPE_FLOOR, ConsensusResult, Resolution, RuleName, as_resolution, build_consensus
from .exceptions import CollaborationRules, find_exceptions
from .fva import FVA_PARTNER_COLUMNS, FVA_SERIES_COLUMNS, FVAResult, forecast_lag, forecast_value_added, \
    select_forecasts, source_accuracy
from .history import HistorySpec, prepare_history, read_table
from .keys import split_keys
from .store import CPFRStore, LatestForecasts, StoredVersion
from .submissions import STATISTICAL, normalise_forecast_table, refuse_reserved_source
from .to_scenario import ScenarioFillReport, apply_forecast_to_scenario

NO_FORECASTS = "no forecasts yet: submit partner forecasts or run a statistical forecast first"
NO_HISTORY = "no shared history yet: nothing to score forecasts against"
NO_STATISTICAL = "no finished statistical forecast run yet: nothing to compare with"
DEMAND_KEYS = ("product", "site")


class NoForecasts(LookupError):
    """The store holds no forecast yet (no submission and no statistical run)."""

    def __init__(self) -> None:
        super().__init__(NO_FORECASTS)


def actuals(history: pd.DataFrame | str | Path, *, freq: Literal["W", "M"], keys: Sequence[str] | None = None,
            date: str = "date", quantity: str = "quantity") -> pd.DataFrame | None:
    """The sales history (a table or CSV/Parquet file: key columns, ``date``, ``quantity``)
    summed into ``freq`` buckets as ``unique_id, ds, y``; a bucket missing inside a series is 0
    sold. None for an empty table. Raises :class:`~forecasting.history.HistoryError` listing
    every problem."""
    if isinstance(history, pd.DataFrame) and history.empty:
        return None
    spec = HistorySpec(date=date, quantity=quantity, keys=list(keys) if keys else None)
    prepared, _ = prepare_history(history, spec, freq=freq, gaps="zero")
    return prepared[["unique_id", "ds", "y"]]


# ----------------------------------------------------------------------------- writes


def save_statistical_run(store: CPFRStore, result, *, author: str,
                         submitted_at: datetime | str | None = None) -> StoredVersion:
    """Keep a statistical forecast run (:class:`~forecasting.engine.PanelForecast`: its
    forecasts and backtest accuracy) as the store's latest."""
    return store.add_statistical_run(result.forecasts, result.accuracy, author=author, submitted_at=submitted_at)


def submit_forecast(store: CPFRStore, partner: str, table: pd.DataFrame | str | Path, *, author: str,
                    columns: Mapping[str, str] | None = None, keys: list[str] | None = None,
                    freq: Literal["W", "M"] | None = None, date_format: str | None = None, note: str = "",
                    submitted_at: datetime | str | None = None) -> StoredVersion:
    """Check a partner's forecast (:func:`~forecasting.submissions.normalise_forecast_table`:
    raises :class:`~forecasting.submissions.SubmissionError` naming every bad field and row)
    and keep it as the partner's next version."""
    refuse_reserved_source(partner)
    data, rows_in = normalise_forecast_table(read_table(table), columns=columns, keys=keys, date_format=date_format,
                                             freq=freq)
    return store.add_submission(partner, data, rows_in, author=author, note=note, submitted_at=submitted_at)


def record_resolution(store: CPFRStore, resolution: Resolution | dict) -> Resolution:
    """Check a resolution (``ValueError`` naming each bad field) and record it; returns it with its id."""
    return store.add_resolution(as_resolution(resolution))


# ----------------------------------------------------------------------------- reads


def latest_forecasts(store: CPFRStore) -> LatestForecasts:
    """The store's latest forecast of each source, sources in name order (the order the
    consensus trace lists them in); :class:`NoForecasts` when it has none."""
    latest = store.latest_forecasts()
    if latest.table.empty:
        raise NoForecasts()
    latest.table = latest.table.sort_values("source", kind="stable", ignore_index=True)
    return latest


def gather_accuracy(store: CPFRStore, actuals: pd.DataFrame | None,
                    past: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """``unique_id, source, wape``: the statistical source's backtested WAPE of its selected
    model (latest run), and each partner's realised WAPE of its past submissions on the actuals
    (:func:`~forecasting.fva.source_accuracy`; ``past``: :meth:`all_versions`, read when not
    given). One row per (series, source): of duplicates the last counts. None: nothing scored."""
    frames = []
    backtest = store.statistical_accuracy()
    if backtest is not None and {"unique_id", "wape", "selected"} <= set(backtest.columns):
        sel = backtest[backtest["selected"].astype(bool)]
        frames.append(pd.DataFrame({"unique_id": sel["unique_id"], "source": STATISTICAL,
                                   "wape": sel["wape"].astype(float)}))
    if actuals is not None:
        past = store.all_versions() if past is None else past
        partners = past[past["source"] != STATISTICAL] if not past.empty else past
        if not partners.empty:
            scored = source_accuracy(actuals, partners)
            if not scored.empty:
                frames.append(scored[["unique_id", "source", "wape"]].astype({"wape": float}))
    if not frames:
        return None
    return pd.concat(frames, ignore_index=True).drop_duplicates(["unique_id", "source"], keep="last")


def run_exceptions(store: CPFRStore, rules: CollaborationRules, *, actuals: pd.DataFrame | None = None) -> pd.DataFrame:
    """The exceptions of ``rules`` on the latest forecasts (error rules: the past forecasts that
    counted, :func:`~forecasting.fva.select_forecasts`, on ``actuals``); the table's
    ``attrs["notes"]`` say which rules were skipped. ``ValueError`` for input the rules cannot use."""
    latest = latest_forecasts(store)
    past = store.all_versions()
    scored_past = select_forecasts(past)[0] if not past.empty else None
    return find_exceptions(rules, latest.table, actuals, past_forecasts=scored_past)


@dataclass
class ConsensusRun:
    """A consensus built from a store: the result (table, trace, weights, notes), the latest
    forecasts it used, the resolutions applied and whether actuals scored the partners."""

    result: ConsensusResult
    sources: LatestForecasts
    resolutions: list[Resolution] = field(default_factory=list)
    history: bool = False


def run_consensus(store: CPFRStore, *, rule: RuleName = "weighted", actuals: pd.DataFrame | None = None,
                  wape_floor: float = DEFAULT_WAPE_FLOOR) -> ConsensusRun:
    """The consensus (:func:`~forecasting.consensus.build_consensus`) of the latest forecasts by
    ``rule``, weighted by :func:`gather_accuracy`, overridden by every recorded resolution, with
    the latest statistical run's P10/P90 band when it has one. ``ValueError`` when the stored
    forecasts cannot be combined."""
    latest = latest_forecasts(store)
    accuracy = gather_accuracy(store, actuals)
    quantiles = store.statistical_forecast()
    if quantiles is not None and not {"p10", "p50", "p90"} <= set(quantiles.columns):
        quantiles = None  # a run without a band: the consensus has none either
    resolutions = store.resolutions()
    result = build_consensus(latest.table, accuracy, resolutions, rule=rule, quantiles=quantiles, wape_floor=wape_floor)
    return ConsensusRun(result, latest, resolutions, actuals is not None)


def value_added(store: CPFRStore, *, actuals: pd.DataFrame | None, freq: Literal["W", "M"] = "M",
                lag: int | None = None, partner: str | None = None) -> FVAResult:
    """Forecast value added of the partners' past submissions on the statistical forecast
    (:func:`~forecasting.fva.forecast_value_added`); ``lag``: only forecasts made that many
    periods ahead (:func:`~forecasting.fva.forecast_lag`); ``partner``: that partner's only.
    Without actuals or a statistical forecast, or when nothing can be scored, the result is
    empty and its notes say why."""
    if actuals is None:
        return _no_fva(NO_HISTORY)
    past = store.all_versions()
    if past.empty or not (past["source"] == STATISTICAL).any():
        return _no_fva(NO_STATISTICAL)
    if partner is not None:
        past = past[past["source"].isin([STATISTICAL, partner])]
    past = past.assign(lag=forecast_lag(past["submitted_at"], past["ds"], freq))
    try:
        return forecast_value_added(actuals, past, lag=lag)
    except ValueError as exc:  # e.g. no statistical forecast made before any period of the history
        return _no_fva(str(exc))


def _no_fva(note: str) -> FVAResult:
    return FVAResult(pd.DataFrame(columns=FVA_PARTNER_COLUMNS), pd.DataFrame(columns=FVA_SERIES_COLUMNS), [note])


# ----------------------------------------------------------------------------- to a scenario


def with_key_columns(table: pd.DataFrame, keys: Sequence[str] | None) -> pd.DataFrame:
    """``table`` with the key columns split from its ``unique_id`` (:mod:`forecasting.keys`)
    in front; unchanged when ``keys`` is empty or an id does not split into them."""
    if not keys:
        return table
    ids = pd.Series(sorted(table["unique_id"].unique()), dtype=object)
    try:
        parts = split_keys(ids, keys)
    except ValueError:
        return table
    return pd.concat([ids.rename("unique_id"), parts], axis=1).merge(table, on="unique_id", how="right")


def fill_scenario(scenario: Scenario, consensus: pd.DataFrame, *, keys: Sequence[str] | None = None,
                  quantile: Literal["p10", "p50", "p90"] = "p50",
                  service_level: float | None = None) -> tuple[Scenario, ScenarioFillReport]:
    """The scenario with every demand (site, product) filled from ``consensus`` (``unique_id``
    of the series' ``keys``, default product/site; ``ds``; the ``quantile`` column) and, with a
    ``service_level``, safety-stock targets from the P10-P90 band
    (:func:`~forecasting.to_scenario.apply_forecast_to_scenario`). Raises
    :class:`~forecasting.to_scenario.ForecastCoverageError` listing every gap, ``ValueError``
    when the keys are not product and site."""
    keys = list(keys or DEMAND_KEYS)
    if set(keys) != set(DEMAND_KEYS):
        raise ValueError(f"the series keys are {keys}; a scenario's demand needs product and site")
    return apply_forecast_to_scenario(scenario, consensus, quantile=quantile, safety_stock_service_level=service_level,
                                      keys=tuple(keys))
