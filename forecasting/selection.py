"""A model selection kept between forecast runs and reused while a series' history only gains periods.

A CPFR cycle forecasts the same series again each time a period of actuals arrives. The model
competition (every candidate backtested on rolling origins, :func:`forecasting.engine.forecast_unit`)
is most of a run's cost, and its outcome changes slowly: the pool of candidates, the best Prophet
configuration, AutoARIMA's orders and AutoETS's form. A run given the previous run's
:class:`Selection` forecasts a series with that pool, the forms refitted with their parameters
re-estimated on the longer history, and skips the backtest, when every check below passes; else
the series competes afresh and the first failed check is its ``selection`` status:

- ``options``: the run's bucket, horizon, windows, pool size, lean flag, country and regressors
  are those the selection was made with (else every series competes);
- ``new``: the series is in the selection;
- ``revised``: its history starts on the same bucket and its first ``n_obs`` values are the ones
  the last run saw (a fingerprint of the values): revised actuals mean a new competition;
- ``class``: its demand class (:func:`forecasting.statistical.classify`) is unchanged;
- ``schedule``: at most ``reselect_after`` periods have been added since the competition
  (default :data:`RESELECT_AFTER`: 0, see there), so every series competes again on a
  schedule;
- ``drift``: on the k periods added since the last run, the last run's P50 erred by at most
  ``DRIFT_FACTOR`` x the pool's backtest MASE, both on the same scale (the in-sample
  seasonal-naive MAE of the history the last run saw). The realised error is of forecasts 1..k
  periods ahead and the backtest's of 1..h, which is larger on average, so the test re-selects
  only when the pool errs clearly worse than its competition promised;
- ``failed``: fewer than two of a reused pool fitted (a pool of one: it failed).

A reused series keeps the competition's backtest accuracy rows (the consensus weighs the
statistical forecast by them) and is marked ``reused`` in the run's series table.
Files: :func:`read_selection` checks a file against :class:`Selection` (sizes, names, finite
numbers) and names the field at fault; :func:`write_selection` replaces the file atomically.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from forecasting.backtest import mase
from forecasting.models import CANDIDATES, PROPHET_CONFIGS
from forecasting.statistical import SEASON

SELECTION_VERSION = 1
DRIFT_FACTOR = 2.0
# periods a kept selection may be reused for: 0 by the validation rule written before the run
# (benchmarks/forecast_validation.py --cycle, 2026-12-03: reused 1, 3 or 6 months later the pool's
# Tourism pooled WAPE was 1.29 %, 1.05 %, -0.06 % and M3's -0.33 %, +0.80 %, +2.86 % off a fresh
# competition; no K kept both panels within 1 %), so by default every run competes and the
# selection is reused only for an unchanged history or with --reselect-after
RESELECT_AFTER = 0
KEPT_P50 = 52  # periods of the run's P50 kept for the next run's drift check
MAX_SERIES = 200_000
MAX_FILE_BYTES = 1 << 30
REUSED = "reused"
COMPETED = "competition"
NO_COMPETITION = "none"  # the fast mode, or a series too short for a backtest
Order = Annotated[int, Field(ge=0, le=60)]


class SelectionError(ValueError):
    """A selection file that cannot be used: ``field`` names where, the message says why."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def _known(names, what: str):
    def check(v: str) -> str:
        if v not in names:
            raise ValueError(f"unknown {what} {v!r}")
        return v
    return AfterValidator(check)


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise ValueError("must be a finite number")
    return v


Candidate = Annotated[str, _known(CANDIDATES, "candidate")]
ProphetName = Annotated[str, _known(PROPHET_CONFIGS, "Prophet configuration")]
Finite = Annotated[float, AfterValidator(_finite)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArimaForm(_Strict):
    """AutoARIMA's chosen orders, as statsforecast's ``arma``: p, q, P, Q, m, d, D (each 0..60)."""

    arma: tuple[Order, Order, Order, Order, Order, Order, Order]
    mean: bool
    drift: bool


class EtsForm(_Strict):
    """AutoETS's chosen form: error, trend, season, damping (e.g. ``MAMD``, ``ANNN``)."""

    components: str = Field(pattern=r"^[AM][NAM][NAM][ND]$")


class AccuracyRow(_Strict):
    """One candidate's backtest score (as in :data:`forecasting.engine.ACCURACY_COLUMNS`)."""

    model: Candidate
    mase: Finite | None = Field(None, ge=0)
    wape: Finite | None = Field(None, ge=0)
    bias: Finite | None = None
    n_windows: int = Field(ge=0, le=12)
    test_horizon: int = Field(ge=0, le=520)
    members: str = Field("", max_length=200)
    selected: bool = False
    pooled: bool = False


class SeriesSelection(_Strict):
    """One series' outcome of the model competition, and the history it was last forecast from."""

    unique_id: str = Field(min_length=1, max_length=512)
    series_class: Literal["short", "smooth", "erratic", "intermittent", "lumpy"]
    pool: list[Candidate] = Field(min_length=1, max_length=10, description="candidates averaged, best first")
    winner: Candidate
    prophet_config: ProphetName = "prophet"
    arima: ArimaForm | None = None
    ets: EtsForm | None = None
    first_ds: dt.date
    n_obs: int = Field(ge=1, description="periods of history the last run saw")
    fingerprint: str = Field(pattern=r"^[0-9a-f]{16}$", description="hash of those periods' values")
    selected_n_obs: int = Field(ge=1, description="periods of history when the competition ran")
    backtest_mase: Finite = Field(ge=0, description="mean backtest MASE of the pool's members")
    next_p50: list[Annotated[Finite, Field(ge=0)]] = Field(
        default_factory=list, max_length=KEPT_P50, description="the last run's P50, first periods")
    accuracy: list[AccuracyRow] = Field(default_factory=list, max_length=40)

    def specs(self) -> dict[str, dict]:
        """The forms as :func:`forecasting.models.model_spec` gives them."""
        out: dict[str, dict] = {}
        if self.arima is not None:
            out["arima"] = {"arma": self.arima.arma, "mean": self.arima.mean, "drift": self.arima.drift}
        if self.ets is not None:
            out["ets"] = {"components": self.ets.components}
        return out

    def accuracy_frame(self) -> pd.DataFrame:
        """The competition's accuracy rows (NaN for null scores)."""
        rows = [r.model_dump() for r in self.accuracy]
        frame = pd.DataFrame(rows, columns=list(AccuracyRow.model_fields))
        return frame.astype({"mase": float, "wape": float, "bias": float})


class SelectionOptions(_Strict):
    """The run options a selection depends on (it is reused only by a run with the same ones)."""

    freq: Literal["W", "M"]
    horizon: int = Field(gt=0, le=520)
    n_windows: int = Field(ge=1, le=12)
    pool: int = Field(ge=1, le=10)
    lean: bool
    country: str | None = Field(None, max_length=10)
    regressors: tuple[str, ...] = Field((), max_length=50)


class Selection(_Strict):
    """A run's model selection, per series (the file ``jointplan forecast --selection`` keeps)."""

    version: Literal[1] = SELECTION_VERSION
    options: SelectionOptions
    series: list[SeriesSelection] = Field(max_length=MAX_SERIES)

    def by_id(self) -> dict[str, SeriesSelection]:
        return {s.unique_id: s for s in self.series}


# --- checks --------------------------------------------------------------------------------


def fingerprint(y: np.ndarray) -> str:
    """16 hex digits hashing the values (as float64) of a history."""
    return hashlib.blake2b(np.ascontiguousarray(np.asarray(y, dtype=np.float64)).tobytes(), digest_size=8).hexdigest()


def reuse_status(record: SeriesSelection, history: pd.DataFrame, kind: str, freq: str, reselect_after: int) -> str:
    """:data:`REUSED` when ``record`` may forecast ``history`` (ds, y) without a competition, else
    the first failed check (module doc): new, revised, class, schedule or drift."""
    y = history["y"].to_numpy(dtype=float)
    first = pd.Timestamp(history["ds"].iloc[0]).date()
    if first != record.first_ds or len(y) < record.n_obs or fingerprint(y[: record.n_obs]) != record.fingerprint:
        return "revised"
    if kind != record.series_class:
        return "class"
    if len(y) - record.selected_n_obs > reselect_after:
        return "schedule"
    added = y[record.n_obs :]
    k = min(len(added), len(record.next_p50))
    if k:
        realised = mase(added[:k], np.asarray(record.next_p50[:k]), y[: record.n_obs], SEASON[freq])
        if realised > DRIFT_FACTOR * max(record.backtest_mase, 1e-9):
            return "drift"
    return REUSED


def pool_mase(accuracy: pd.DataFrame, pool: list[str]) -> float:
    """Mean backtest MASE of the pool's members (NaN scores skipped; 0 if none is scored)."""
    scores = accuracy.set_index("model")["mase"].reindex(pool).to_numpy(dtype=float)
    scores = scores[np.isfinite(scores)]
    return float(scores.mean()) if len(scores) else 0.0


def series_record(
    unique_id: str, kind: str, history: pd.DataFrame, *, pool: list[str], winner: str, prophet_config: str,
    specs: dict[str, dict] | None, accuracy: pd.DataFrame, p50: np.ndarray, selected_n_obs: int | None = None,
    backtest_mase: float | None = None,
) -> SeriesSelection:
    """The record of a series just forecast with ``pool``: after a competition (``selected_n_obs``
    None: now), or carried forward from a reused record (its competition's length and MASE)."""
    y = history["y"].to_numpy(dtype=float)
    specs = specs or {}
    rows = []
    for r in accuracy.to_dict(orient="records"):
        rows.append(AccuracyRow(
            model=str(r["model"]), n_windows=int(r["n_windows"]), test_horizon=int(r["test_horizon"]),
            members=str(r.get("members") or ""), selected=bool(r.get("selected", False)),
            pooled=bool(r.get("pooled", False)),
            **{k: (float(r[k]) if r.get(k) is not None and np.isfinite(float(r[k])) else None) for k in ("mase", "wape", "bias")},
        ))
    p50 = np.asarray(p50, dtype=float)[:KEPT_P50]
    return SeriesSelection(
        unique_id=unique_id, series_class=kind, pool=list(pool), winner=winner, prophet_config=prophet_config,
        arima=ArimaForm(**specs["arima"]) if "arima" in specs else None,
        ets=EtsForm(**specs["ets"]) if "ets" in specs else None,
        first_ds=pd.Timestamp(history["ds"].iloc[0]).date(), n_obs=len(y), fingerprint=fingerprint(y),
        selected_n_obs=len(y) if selected_n_obs is None else selected_n_obs,
        backtest_mase=pool_mase(accuracy, list(pool)) if backtest_mase is None else backtest_mase,
        next_p50=[float(v) for v in np.clip(np.nan_to_num(p50, nan=0.0), 0, None)], accuracy=rows,
    )


# --- files ---------------------------------------------------------------------------------


def _field(loc: tuple) -> str:
    return ".".join(str(p) for p in loc) or "(file)"


def parse_selection(data: object) -> Selection:
    """A selection from parsed JSON; :class:`SelectionError` naming the first bad field."""
    try:
        return Selection.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SelectionError(_field(first["loc"]), first["msg"]) from None


def read_selection(path: str | Path) -> Selection:
    """The selection kept in ``path`` (JSON, at most :data:`MAX_FILE_BYTES`)."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SelectionError("(file)", f"{size} bytes, more than the {MAX_FILE_BYTES} a selection may have")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SelectionError("(file)", f"not JSON ({exc})") from None
    return parse_selection(data)


def write_selection(path: str | Path, selection: Selection) -> None:
    """Write ``selection`` as JSON, replacing ``path`` only once the whole file is written."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(selection.model_dump_json())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
