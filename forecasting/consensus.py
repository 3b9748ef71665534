"""Consensus forecast from the statistical forecast and the partners' forecasts, with every
override traceable.

Consensus rule (default ``"weighted"``)
---------------------------------------
For each series u and period t, over the sources s that have a value v_s for (u, t):

    w_s = (1 / max(WAPE_{u,s}, floor)) / sum_r (1 / max(WAPE_{u,r}, floor)),   consensus = sum_s w_s v_s

- WAPE_{u,s} is source s's backtested WAPE on series u (accuracy table ``unique_id, source,
  wape``, e.g. from :func:`forecasting.fva.source_accuracy`; an accuracy table without
  ``unique_id`` applies per source to every series; a backtest table ``unique_id, model, wape,
  selected`` is read as the accuracy of source ``statistical`` from its selected model).
- ``floor`` (default 0.05) caps a source's weight: a WAPE of 0 (or below the floor) counts as
  the floor, so no source takes the whole weight from a short, lucky history.
- A source without a usable WAPE for the series (no row, missing, negative or infinite) gets
  the mean raw weight of the sources that have one; when none has, all present sources weigh
  equally. Sources absent for (u, t) take no part in that period.

Example: WAPE 0.1 and 0.3 give raw weights 10 and 3.33, i.e. 0.75 and 0.25; values 100 and
140 give 0.75*100 + 0.25*140 = 110.

Other rules: ``mean`` (equal weights), ``median``, ``max``, ``min``, ``statistical`` (the
statistical source; where it is absent the weighted rule is used, noted in the trace).

Resolutions
-----------
A :class:`Resolution` overrides the rule for one series (``unique_id``) and some periods (``ds``
list; all periods when omitted): ``accept_source`` takes one source's value, ``adjust`` enters
a value with a reason, ``apply_rule`` uses another rule. Where several cover a series-period the
latest (``created_at``, then order given) wins; an ``apply_rule`` with the default rule undoes
earlier overrides. Resolutions are kept in an append-only JSON file by
:class:`ResolutionStore` (``root/resolutions.json``; ``root`` may be the submission store's).

Quantiles: where the statistical forecast has P10/P90, the consensus band is the statistical
band scaled by the change in P50: with r = consensus / P50_stat, P10 = r P10_stat and
P90 = r P90_stat (the band keeps its width relative to the median, stays ordered and
non-negative). When P50_stat = 0 the band is shifted instead: P10 = P10_stat + consensus,
P90 = P90_stat + consensus. Elsewhere P10/P90 are left empty.

The result's ``trace`` has one row per series-period: ``value``, ``basis`` (the rule name,
``accepted:<source>`` or ``adjusted``), ``rule_value`` (what the rule alone gives), the
inputs and weights used, and the ``author``, ``reason``, ``resolution_id`` and
``exception_id`` of any override.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .submissions import STATISTICAL, locked, read_json, utc, write_atomic

RULES = ("weighted", "mean", "median", "max", "min", "statistical")
RuleName = Literal["weighted", "mean", "median", "max", "min", "statistical"]
DEFAULT_WAPE_FLOOR = 0.05
TABLE_COLUMNS = ["unique_id", "ds", "p10", "p50", "p90", "basis"]
TRACE_COLUMNS = [
    "unique_id", "ds", "value", "basis", "rule_value", "values", "weights",
    "author", "reason", "resolution_id", "exception_id", "note",
]


class Resolution(BaseModel):
    """How one exception (or any series-periods) is resolved."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = Field(None, description="Resolution id; the store assigns R0001, R0002, ... when omitted")
    action: Literal["accept_source", "adjust", "apply_rule"] = Field(description="accept_source, adjust or apply_rule")
    unique_id: str = Field(min_length=1, description="Series resolved")
    ds: list[date] | None = Field(None, description="Periods resolved (bucket start dates); omitted: every period")
    source: str | None = Field(None, description="accept_source: the source whose value is taken")
    value: float | None = Field(None, ge=0, description="adjust: the agreed value [units per period]")
    rule: RuleName | None = Field(None, description="apply_rule: one of weighted, mean, median, max, min, statistical")
    reason: str = Field("", description="Why; required for adjust")
    author: str = Field(min_length=1, description="Who resolved it")
    created_at: datetime = Field(default_factory=lambda: utc(None), description="When [UTC]")
    exception_id: str | None = Field(None, description="The exception it resolves, if any")

    @field_validator("created_at")
    @classmethod
    def _as_utc(cls, v: datetime) -> datetime:
        return utc(v)

    @model_validator(mode="after")
    def _fields_fit_action(self):
        needs = {"accept_source": "source", "adjust": "value", "apply_rule": "rule"}
        for action, fld in needs.items():
            given = getattr(self, fld) is not None
            if action == self.action and not given:
                raise ValueError(f"{fld} is required for {action}")
            if action != self.action and given:
                raise ValueError(f"{fld} is only for {action}, not {self.action}")
        if self.action == "adjust" and not self.reason.strip():
            raise ValueError("reason is required for adjust")
        if self.author.strip() == "":
            raise ValueError("author is required")
        return self


def as_resolution(data: Resolution | dict) -> Resolution:
    """``data`` as a checked :class:`Resolution`; ``ValueError`` naming each bad field."""
    if isinstance(data, Resolution):
        return data
    try:
        return Resolution.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{'.'.join(map(str, e['loc'])) or '(resolution)'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()
        ]
        raise ValueError("invalid resolution:\n" + "\n".join(f"  {x}" for x in lines)) from None


class ResolutionStore:
    """Append-only store of resolutions in ``root/resolutions.json``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._file = self.root / "resolutions.json"

    def add(self, resolution: Resolution | dict) -> Resolution:
        """Store a resolution (checked; given the next id ``R0001``... when it has none)."""
        res = as_resolution(resolution)
        with locked(self.root):
            data = read_json(self._file, {"format": 1, "resolutions": []})
            ids = {r["id"] for r in data["resolutions"]}
            if res.id is None:
                res = res.model_copy(update={"id": f"R{len(data['resolutions']) + 1:04d}"})
                while res.id in ids:
                    res = res.model_copy(update={"id": f"R{int(res.id[1:]) + 1:04d}"})
            elif res.id in ids:
                raise ValueError(f"id: resolution {res.id!r} already exists (resolutions are never rewritten; add a new one)")
            data["resolutions"].append(res.model_dump(mode="json"))
            write_atomic(self._file, json.dumps(data, indent=1).encode("utf-8"))
        return res

    def all(self, unique_id: str | None = None) -> list[Resolution]:
        """Stored resolutions in the order added (of one series, or all)."""
        data = read_json(self._file, {"format": 1, "resolutions": []})
        out = [Resolution.model_validate(r) for r in data["resolutions"]]
        return [r for r in out if unique_id is None or r.unique_id == unique_id]


@dataclass
class ConsensusResult:
    table: pd.DataFrame  # TABLE_COLUMNS: the consensus forecast planning consumes
    trace: pd.DataFrame  # TRACE_COLUMNS: how each value was reached
    weights: pd.DataFrame  # unique_id, ds, source, value, wape, weight (the weighted rule's weights)
    notes: list[str] = field(default_factory=list)


def _accuracy_by_source(accuracy: pd.DataFrame | None) -> tuple[pd.DataFrame | None, bool]:
    """Accuracy as ``[unique_id,] source, wape``; second item: whether it is per series."""
    if accuracy is None or accuracy.empty:
        return None, False
    acc = accuracy.copy()
    if "source" not in acc.columns:
        if "model" in acc.columns and "selected" in acc.columns:
            acc = acc[acc["selected"].astype(bool)].assign(source=STATISTICAL)
        else:
            raise ValueError(
                "accuracy: needs a source column (or model + selected from a backtest); "
                f"it has {', '.join(map(str, acc.columns))}"
            )
    if "wape" not in acc.columns:
        raise ValueError(f"accuracy: missing column wape; it has {', '.join(map(str, acc.columns))}")
    per_series = "unique_id" in acc.columns
    key = ["unique_id", "source"] if per_series else ["source"]
    acc["wape"] = pd.to_numeric(acc["wape"], errors="coerce")
    if acc.duplicated(key).any():
        first = acc[acc.duplicated(key, keep=False)].iloc[0]
        raise ValueError(f"accuracy: several rows for {', '.join(f'{k}={first[k]}' for k in key)}")
    return acc[[*key, "wape"]], per_series


def inverse_wape_weights(
    sources: pd.DataFrame, accuracy: pd.DataFrame | None, *, wape_floor: float = DEFAULT_WAPE_FLOOR
) -> pd.DataFrame:
    """``sources`` (``unique_id, ds, source, value``) with ``wape`` and ``weight`` columns: the
    weighted rule's weights (module doc), summing to 1 over each series-period."""
    if not wape_floor > 0:
        raise ValueError(f"wape_floor: must be > 0, got {wape_floor}")
    acc, per_series = _accuracy_by_source(accuracy)
    df = sources[["unique_id", "ds", "source", "value"]].copy()
    if acc is None:
        df["wape"] = np.nan
    else:
        df = df.merge(acc, on=["unique_id", "source"] if per_series else ["source"], how="left")
    usable = np.isfinite(df["wape"]) & (df["wape"] >= 0)
    raw = (1.0 / np.maximum(df["wape"], wape_floor)).where(usable)
    group = [df["unique_id"], df["ds"]]
    raw = raw.fillna(raw.groupby(group).transform("mean")).fillna(1.0)
    df["weight"] = raw / raw.groupby(group).transform("sum")
    return df


def _fmt(pairs: dict[str, float], digits: int = 3) -> str:
    return ", ".join(f"{k}={v:.{digits}g}" for k, v in pairs.items())


def build_consensus(
    sources: pd.DataFrame,
    accuracy: pd.DataFrame | None = None,
    resolutions: list[Resolution | dict] | None = None,
    rule: RuleName = "weighted",
    *,
    quantiles: pd.DataFrame | None = None,
    wape_floor: float = DEFAULT_WAPE_FLOOR,
) -> ConsensusResult:
    """Consensus forecast for every series-period in ``sources`` (long ``unique_id, ds, source,
    value``) by ``rule``, overridden by ``resolutions`` (rule, overrides and quantiles in the
    module doc). ``quantiles`` is the statistical forecast table (``unique_id, ds, p10, p50,
    p90``); without it ``p10``/``p90`` columns on the ``statistical`` rows of ``sources`` are
    used when present."""
    if rule not in RULES:
        raise ValueError(f"rule: must be one of {', '.join(RULES)}, got {rule!r}")
    missing = [c for c in ("unique_id", "ds", "source", "value") if c not in sources.columns]
    if missing:
        raise ValueError(f"sources: missing column(s) {', '.join(missing)}; the table has {', '.join(map(str, sources.columns))}")
    src = sources.copy()
    src["ds"] = pd.to_datetime(src["ds"])
    src["value"] = pd.to_numeric(src["value"], errors="coerce").astype(float)
    src = src[np.isfinite(src["value"])]
    if (src["value"] < 0).any():
        bad = src[src["value"] < 0].iloc[0]
        raise ValueError(
            f"sources: negative value {bad['value']:g} for {bad['unique_id']} {bad['ds'].date()} from {bad['source']}"
        )
    if src.duplicated(["unique_id", "ds", "source"]).any():
        bad = src[src.duplicated(["unique_id", "ds", "source"], keep=False)].iloc[0]
        raise ValueError(f"sources: several values for {bad['unique_id']} {bad['ds'].date()} from {bad['source']}")
    notes: list[str] = []

    weighted = inverse_wape_weights(src, accuracy, wape_floor=wape_floor)
    weighted["contribution"] = weighted["weight"] * weighted["value"]
    g = weighted.groupby(["unique_id", "ds"], sort=True)
    grid = pd.DataFrame({
        "weighted": g["contribution"].sum(),
        "mean": g["value"].mean(),
        "median": g["value"].median(),
        "max": g["value"].max(),
        "min": g["value"].min(),
    }).reset_index()
    stat = src[src["source"] == STATISTICAL].set_index(["unique_id", "ds"])["value"]
    grid["statistical"] = stat.reindex(pd.MultiIndex.from_frame(grid[["unique_id", "ds"]])).to_numpy()
    by_cell = {k: d for k, d in weighted.groupby(["unique_id", "ds"], sort=False)}

    # latest resolution covering each cell wins
    res_list = [as_resolution(r) for r in (resolutions or [])]
    order = sorted(range(len(res_list)), key=lambda i: (res_list[i].created_at, i))
    winner = np.full(len(grid), -1)
    for i in order:
        r = res_list[i]
        mask = grid["unique_id"].to_numpy() == r.unique_id
        if r.ds is not None:
            mask &= grid["ds"].isin(pd.to_datetime(r.ds)).to_numpy()
        if not mask.any():
            notes.append(f"resolution {r.id or f'#{i + 1}'} ({r.action}) matches no series-period in the sources: {r.unique_id}"
                         + (f" {', '.join(map(str, r.ds))}" if r.ds else ""))
        winner[mask] = i

    rows = []
    for k, cell in enumerate(grid.itertuples(index=False)):
        d = by_cell[(cell.unique_id, cell.ds)]
        values = dict(zip(d["source"], d["value"]))
        rule_weights = dict(zip(d["source"], d["weight"]))
        r = res_list[winner[k]] if winner[k] >= 0 else None
        note = ""

        def by_rule(name: str) -> tuple[float, str, dict[str, float]]:
            nonlocal note
            if name == "statistical" and STATISTICAL not in values:
                note = "no statistical forecast here: weighted rule used"
                name = "weighted"
            v = getattr(cell, name)
            if name == "weighted":
                w = rule_weights
            elif name == "mean":
                w = {s: 1 / len(values) for s in values}
            elif name in ("max", "min", "statistical"):
                pick = STATISTICAL if name == "statistical" else (max if name == "max" else min)(values, key=values.get)
                w = {pick: 1.0}
            else:
                w = {}
            return float(v), name, w

        rule_value, basis, weights = by_rule(rule)
        value = rule_value
        if r is not None and r.action == "adjust":
            value, basis, weights, note = float(r.value), "adjusted", {}, ""
        elif r is not None and r.action == "accept_source":
            if r.source in values:
                value, basis, weights, note = float(values[r.source]), f"accepted:{r.source}", {r.source: 1.0}, ""
            else:
                note = f"accepted source {r.source!r} has no value here: {basis} rule used"
        elif r is not None:
            value, basis, weights = by_rule(r.rule)
        rows.append({
            "unique_id": cell.unique_id, "ds": cell.ds, "value": value, "basis": basis, "rule_value": rule_value,
            "values": _fmt(values, 10), "weights": _fmt(weights),
            "author": r.author if r else "", "reason": r.reason if r else "",
            "resolution_id": (r.id or f"#{winner[k] + 1}") if r else "", "exception_id": (r.exception_id or "") if r else "",
            "note": note,
        })
    trace = pd.DataFrame(rows, columns=TRACE_COLUMNS)

    table = trace[["unique_id", "ds", "value", "basis"]].rename(columns={"value": "p50"})
    q = quantiles
    if q is None and {"p10", "p90"} <= set(src.columns):
        q = src[src["source"] == STATISTICAL].rename(columns={"value": "p50"})
    if q is not None and not q.empty:
        need = [c for c in ("unique_id", "ds", "p10", "p50", "p90") if c not in q.columns]
        if need:
            raise ValueError(f"quantiles: missing column(s) {', '.join(need)}")
        q = q[["unique_id", "ds", "p10", "p50", "p90"]].rename(columns={"p10": "q10", "p50": "q50", "p90": "q90"})
        q = q.assign(ds=pd.to_datetime(q["ds"]))
        table = table.merge(q, on=["unique_id", "ds"], how="left")
        scale = table["p50"] / table["q50"].where(table["q50"] > 0)
        shifted = table["q50"] == 0
        table["p10"] = np.where(shifted, table["q10"] + table["p50"], table["q10"] * scale)
        table["p90"] = np.where(shifted, table["q90"] + table["p50"], table["q90"] * scale)
        table["p10"] = table["p10"].clip(lower=0)
    else:
        table["p10"] = np.nan
        table["p90"] = np.nan
    table = table[TABLE_COLUMNS].reset_index(drop=True)
    return ConsensusResult(table, trace, weighted[["unique_id", "ds", "source", "value", "wape", "weight"]], notes)
