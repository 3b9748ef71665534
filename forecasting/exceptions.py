"""CPFR exception rules: where forecasts disagree, where a forecast has been wrong, where service
fell short. Rules are configured per collaboration; each exception names the series, periods,
sources, values, the rule broken, its severity and the partner who owns the resolution.

Forecasts come in long format: ``unique_id``, ``ds``, ``source`` (``statistical`` or a partner
id) and ``value``.

A collaboration's rules are a :class:`CollaborationRules` (from a dict or YAML, rules told apart
by ``kind``: ``tolerance``, ``error``, ``service``); :func:`find_exceptions` applies all of them
and gives each exception a stable ``exception_id`` (a hash of rule, series, period and sources,
so a resolution that cites it still matches when the exceptions are listed again).
"""

from __future__ import annotations

import hashlib
from itertools import combinations
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

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


def _qty(x: float) -> str:
    """A quantity as people read it: whole units with thousands separated from 100 up
    (1516.93 -> "1,517", 2.5e6 -> "2,500,000"), three significant digits below (0.125 -> "0.125")."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


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
                "sources": f"{a} vs {b}", "values": f"{_qty(x)} vs {_qty(y)}",
                "measure": abs(x - y), "limit": rule.absolute if rule.absolute is not None else rule.relative,
                "severity": _severity(float(ratio)), "owner": owner,
                "message": f"{a} ({_qty(x)}) and {b} ({_qty(y)}) differ by {_qty(abs(x - y))}"
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


# ----------------------------------------------------------------------------- all rules together

Rule = Annotated[Union[ToleranceRule, ErrorRule, ServiceRule], Field(discriminator="kind")]
RULE_KINDS = ("tolerance", "error", "service")
FOUND_COLUMNS = ["exception_id", *EXCEPTION_COLUMNS]
_SOURCE_COLUMNS = ["unique_id", "ds", "source", "value"]


class RulesError(ValueError):
    """Collaboration rules that cannot be read; one line per field path."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid collaboration rules:\n" + "\n".join(f"  {p}" for p in problems))


class CollaborationRules(BaseModel):
    """The exception rules agreed in one collaboration arrangement."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field("collaboration", description="Name of the collaboration arrangement")
    rules: list[Rule] = Field(min_length=1, description="Exception rules, each with kind tolerance, error or service")

    @model_validator(mode="after")
    def _unique_names(self):
        names = [r.name for r in self.rules]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"rule names must be unique; repeated: {', '.join(dup)}")
        return self

    @classmethod
    def from_dict(cls, data: Any) -> "CollaborationRules":
        """Parse ``{"name": ..., "rules": [...]}`` or a bare list of rules; raises
        :class:`RulesError` with one ``rules[i].field: reason`` line per problem."""
        if isinstance(data, list):
            data = {"rules": data}
        if not isinstance(data, dict):
            raise RulesError([f"(rules): expected a mapping with 'rules' or a list of rules, got {type(data).__name__}"])
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise RulesError(_rule_problems(exc, data)) from None

    @classmethod
    def from_yaml(cls, source: str | Path) -> "CollaborationRules":
        """Parse a YAML (or JSON) file, or YAML text when ``source`` is not an existing path."""
        text = source
        is_path = isinstance(source, Path) or (
            isinstance(source, str) and "\n" not in source and Path(source).suffix in {".yaml", ".yml", ".json"}
        )
        if is_path:
            path = Path(source)
            if not path.exists():
                raise RulesError([f"{path}: file not found"])
            text = path.read_text(encoding="utf-8")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise RulesError([f"(yaml): cannot parse: {exc}"]) from None
        return cls.from_dict(data)


def _rule_problems(exc: ValidationError, data: dict) -> list[str]:
    out = []
    for err in exc.errors():
        loc = list(err["loc"])
        path = ""
        for i, part in enumerate(loc):
            if isinstance(part, int):
                path += f"[{part}]"
                rules = data.get("rules")
                rule = rules[part] if i == 1 and loc[0] == "rules" and isinstance(rules, list) else None
                if isinstance(rule, dict) and rule.get("name"):
                    path += f" ({rule['name']!r})"
            elif i >= 2 and isinstance(loc[i - 1], int) and part in RULE_KINDS:
                continue  # the union member pydantic tried
            else:
                path += f".{part}" if path else str(part)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "union_tag_not_found":
            msg = f"kind is missing; one of {', '.join(RULE_KINDS)}"
        elif err["type"] == "union_tag_invalid" and isinstance(err["input"], dict):
            msg = f"unknown kind {err['input'].get('kind')!r}; one of {', '.join(RULE_KINDS)}"
        out.append(f"{path or '(rules)'}: {msg}")
    return out


def _exception_id(row: pd.Series) -> str:
    ds = pd.Timestamp(row["ds"]).isoformat() if pd.notna(row["ds"]) else ""
    key = "|".join([str(row["rule"]), str(row["kind"]), str(row["unique_id"]), ds, str(row["sources"])])
    return "EX-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def _check_columns(df: pd.DataFrame, needed: list[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}; the table has {', '.join(map(str, df.columns))}")


def find_exceptions(
    rules: CollaborationRules | dict | list,
    forecasts: pd.DataFrame | None,
    actuals: pd.DataFrame | None = None,
    service: pd.DataFrame | None = None,
    *,
    past_forecasts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Apply every rule of a collaboration and list the exceptions (``exception_id`` +
    :data:`EXCEPTION_COLUMNS`), in rule order, each rule's rows by series and period.

    - tolerance rules compare every pair of their sources (partner vs partner, partner vs
      statistical) in ``forecasts``;
    - error rules measure WAPE on history: ``past_forecasts`` (or ``forecasts`` when not given)
      against ``actuals`` (``unique_id, ds, y``);
    - service rules read ``service`` (``on_hand`` for in-stock; ``demand`` and ``served`` for
      fill rate).

    A rule whose data is absent is skipped and said so in ``result.attrs["notes"]`` (list of
    str), never silently.
    """
    if not isinstance(rules, CollaborationRules):
        rules = CollaborationRules.from_dict(rules)
    if forecasts is not None:
        _check_columns(forecasts, _SOURCE_COLUMNS, "forecasts")
    if past_forecasts is not None:
        _check_columns(past_forecasts, _SOURCE_COLUMNS, "past_forecasts")
    if actuals is not None:
        _check_columns(actuals, ["unique_id", "ds", "y"], "actuals")
    if service is not None:
        _check_columns(service, ["unique_id", "ds"], "service")
    notes: list[str] = []
    found: list[pd.DataFrame] = []
    for rule in rules.rules:
        if isinstance(rule, ToleranceRule):
            if forecasts is None or forecasts.empty:
                notes.append(f"rule {rule.name!r} skipped: no forecasts given")
                continue
            present = sorted(forecasts["source"].dropna().unique())
            wanted = rule.sources or present
            missing = [s for s in wanted if s not in present]
            usable = [s for s in wanted if s in present]
            if missing:
                notes.append(f"rule {rule.name!r}: no forecasts from {', '.join(missing)}")
            if len(usable) < 2:
                notes.append(f"rule {rule.name!r} skipped: needs two sources, found {', '.join(usable) or 'none'}")
                continue
            found.append(tolerance_exceptions(forecasts, rule))
        elif isinstance(rule, ErrorRule):
            history = past_forecasts if past_forecasts is not None else forecasts
            if actuals is None or actuals.empty:
                notes.append(f"rule {rule.name!r} skipped: no actuals given")
                continue
            if history is None or history.empty or history.merge(actuals[["unique_id", "ds"]], on=["unique_id", "ds"]).empty:
                notes.append(f"rule {rule.name!r} skipped: no forecast covers a period with actuals")
                continue
            found.append(error_exceptions(history, actuals, rule))
        else:
            needs = ["on_hand"] if rule.measure == "in_stock" else ["demand", "served"]
            if service is None or service.empty:
                notes.append(f"rule {rule.name!r} skipped: no service data given")
                continue
            lacking = [c for c in needs if c not in service.columns]
            if lacking:
                notes.append(f"rule {rule.name!r} skipped: service data has no {', '.join(lacking)} column")
                continue
            found.append(service_exceptions(service, rule))
    found = [f.sort_values(["unique_id", "ds"], kind="stable") for f in found if not f.empty]
    if found:
        out = pd.concat(found, ignore_index=True)
        out.insert(0, "exception_id", out.apply(_exception_id, axis=1))
    else:
        out = pd.DataFrame(columns=FOUND_COLUMNS)
    out.attrs["notes"] = notes
    return out
