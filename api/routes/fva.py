"""Forecast value added: how much each partner's submissions improved on the statistical forecast
on history (:func:`forecasting.fva.forecast_value_added`; maths in :mod:`forecasting.fva`).

Past forecasts are every stored submission version and every finished forecast run; a forecast
counts for a period only if it was made before the period began (the latest such version), so
FVA builds up as partners submit ahead of time and actuals arrive. A partner user sees its own
rows only; planners, finance and admins see every partner's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, SessionDep
from api.store import DatabaseStore
from api.tables import actuals_frame, clean_records
from forecasting import workflow

router = APIRouter(prefix="/fva", tags=["forecast value added"], route_class=StrictJSONRoute)

access.register("GET", "/fva", access.ALL_ROLES, partner_filtered=True,
                note="a partner sees its own forecast value added only")


class FVAMeasures(BaseModel):
    """Errors of the statistical and the partner's forecasts on the same series-periods."""

    partner: str = Field(description="Partner whose submissions are scored")
    n: int = Field(description="Series-periods with an actual, a statistical and a partner forecast")
    wape_statistical: float | None = Field(description="WAPE of the statistical forecast on those periods [fraction]")
    wape_partner: float | None = Field(description="WAPE of the partner's forecast [fraction]")
    fva_wape: float | None = Field(description="wape_statistical - wape_partner; positive: the partner improved on it")
    mae_statistical: float = Field(description="Mean absolute error of the statistical forecast [units]")
    mae_partner: float = Field(description="Mean absolute error of the partner's forecast [units]")
    fva_mae: float = Field(description="mae_statistical - mae_partner [units]")


class PartnerFVA(FVAMeasures):
    """One partner's forecast value added, pooled over its series-periods."""

    series: int = Field(description="Series with at least one scored period")
    series_improved: int = Field(description="Series where the partner's total absolute error was lower")
    share_improved: float = Field(description="series_improved / series [fraction]")


class SeriesFVA(FVAMeasures):
    """Forecast value added of one partner on one series."""

    unique_id: str = Field(description="Series")
    improved: bool = Field(description="The partner's total absolute error was below the statistical one's")


class FVAReport(BaseModel):
    """Forecast value added per partner and per series, with remarks (e.g. why a partner has none)."""

    freq: str = Field(description="Bucket the shared history was aggregated to")
    lag: int | None = Field(description="Forecast lag scored (None: the last forecast made before each period)")
    by_partner: list[PartnerFVA] = Field(description="One row per partner with scored periods")
    by_series: list[SeriesFVA] = Field(description="One row per partner and series")
    notes: list[str] = Field(description="Remarks: periods left out, partners without overlap")


@router.get("", response_model=FVAReport, summary="Forecast value added of the partners' submissions")
def get_fva(
    user: AuthorizedUser,
    session: SessionDep,
    freq: Annotated[Literal["W", "M"], Query(description="Bucket of the shared history (W or M)")] = "M",
    lag: Annotated[int | None, Query(ge=1, le=520, description=(
        "Score only forecasts made this many periods ahead: months from the month of submission to the "
        "forecast month (M), or whole weeks from submission to the period start, rounded up (W)"))] = None,
):
    result = workflow.value_added(DatabaseStore(session), actuals=actuals_frame(session, freq), freq=freq, lag=lag,
                                  partner=access.partner_scope(user))  # a partner: its own submissions only
    return {"freq": freq, "lag": lag, "by_partner": clean_records(result.by_partner.to_dict(orient="records")),
            "by_series": clean_records(result.by_series.to_dict(orient="records")), "notes": list(result.notes)}
