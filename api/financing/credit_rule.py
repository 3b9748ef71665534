"""The supplier credit limit computed from the platform's own data: a pure function of facts and
parameters, returning the amount and every step that led to it.

Facts about a supplier ``s``, as of the request's date (:mod:`api.financing.credit_facts` reads
them): ``V_1 … V_N``, the value (minor units) of the invoices ``s`` issued in each of the ``N``
complete calendar months before the month of the request that its buyers confirmed (status
confirmed or settled; a month without any counts as 0); ``R`` and ``X``, the value of all the
invoices it issued in those months and of those disputed; ``W``, the WAPE of its submitted
forecasts (None when it has none scored).

Parameters (stored on the programme; defaults in :data:`DEFAULTS`): ``N`` months, ``c`` months of
cover, ``k_cv`` and floor ``f_min`` for instability, ``k_d`` for disputes, floor ``a_min`` for
forecast accuracy.

    μ      = (V_1 + … + V_N) / N                       average monthly confirmed volume
    σ      = √( Σ (V_m − μ)² / N )                     its (population) standard deviation
    CV     = σ / μ  (0 when μ = 0)                     coefficient of variation
    f_stab = max(f_min, 1 − k_cv · CV)                 instability scales it down
    D      = X / R  (0 when R = 0)                     dispute rate by value
    f_disp = max(0, 1 − k_d · D)
    f_acc  = max(a_min, min(1, 1 − W))  (1 when W is None: neutral, said so)
    limit  = ⌊ μ · c · f_stab · f_disp · f_acc ⌋      minor units

Computed with :class:`decimal.Decimal` (28 digits) and rounded down once at the end, so the same
facts give the same limit on every machine. Worked example (``docs/financing.md``, tested in
``tests/test_financing_credit_rule.py``): V = 100, 300, 200, 200, 100, 300 EUR, nothing disputed,
W = 0.2, c = 2, k_cv = 0.5: μ = 200, σ = 81.65, CV = 0.4082, f_stab = 0.7959, f_acc = 0.8, limit
= ⌊200 · 2 · 0.7959 · 1 · 0.8⌋ = 254.68 EUR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

DEFAULTS: dict[str, Any] = {"months": 6, "cover_months": 2, "cv_weight": 0.5, "stability_floor": 0.25,
                            "dispute_weight": 2, "accuracy_floor": 0.5}
"""Default parameters of the rule (a programme stores its own)."""
BOUNDS: dict[str, tuple[float, float]] = {"months": (1, 36), "cover_months": (0, 24), "cv_weight": (0, 10),
                                          "stability_floor": (0, 1), "dispute_weight": (0, 100),
                                          "accuracy_floor": (0, 1)}
"""Accepted range of each parameter (``months`` an integer)."""


@dataclass(frozen=True)
class Facts:
    """What the rule reads about a supplier (amounts in minor units)."""

    monthly_confirmed: tuple[int, ...]
    months: tuple[str, ...]  # "YYYY-MM" of each value, oldest first
    recorded_minor: int
    disputed_minor: int
    forecast_wape: float | None = None
    forecast_fva: float | None = None
    forecast_note: str = ""


@dataclass
class CreditLimit:
    amount_minor: int
    steps: list[str] = field(default_factory=list)
    factors: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"amount_minor": self.amount_minor, "steps": self.steps, "factors": self.factors}


def _d(x: Any) -> Decimal:
    return x if isinstance(x, Decimal) else Decimal(repr(x)) if isinstance(x, float) else Decimal(x)


def credit_limit(facts: Facts, params: dict[str, Any], fmt=lambda minor: str(minor)) -> CreditLimit:
    """The rule of the module docstring; ``fmt`` writes an amount of minor units in the steps."""
    p = {**DEFAULTS, **params}
    with localcontext() as ctx:
        ctx.prec = 28
        vols = [Decimal(v) for v in facts.monthly_confirmed]
        n = len(vols)
        mu = sum(vols, Decimal(0)) / n if n else Decimal(0)
        sigma = (sum(((v - mu) ** 2 for v in vols), Decimal(0)) / n).sqrt() if n else Decimal(0)
        cv = sigma / mu if mu > 0 else Decimal(0)
        f_stab = max(_d(p["stability_floor"]), 1 - _d(p["cv_weight"]) * cv)
        rate = Decimal(facts.disputed_minor) / Decimal(facts.recorded_minor) if facts.recorded_minor else Decimal(0)
        f_disp = max(Decimal(0), 1 - _d(p["dispute_weight"]) * rate)
        if facts.forecast_wape is None:
            f_acc = Decimal(1)
        else:
            f_acc = max(_d(p["accuracy_floor"]), min(Decimal(1), 1 - _d(facts.forecast_wape)))
        raw = mu * _d(p["cover_months"]) * f_stab * f_disp * f_acc
        amount = int(raw.to_integral_value(rounding="ROUND_FLOOR")) if raw > 0 else 0
    steps = [
        f"confirmed invoice volume per month over the last {n} complete months "
        f"({facts.months[0] if facts.months else '-'} .. {facts.months[-1] if facts.months else '-'}): "
        + ", ".join(fmt(v) for v in facts.monthly_confirmed),
        f"average μ = {fmt(int(mu))}, standard deviation σ = {fmt(int(sigma))}, coefficient of variation "
        f"CV = {cv:.4f}",
        f"stability factor = max({p['stability_floor']}, 1 − {p['cv_weight']} × CV) = {f_stab:.4f}",
        f"dispute rate = disputed {fmt(facts.disputed_minor)} / recorded {fmt(facts.recorded_minor)} = {rate:.4f}; "
        f"dispute factor = max(0, 1 − {p['dispute_weight']} × rate) = {f_disp:.4f}",
        (f"forecast accuracy: no scored forecast ({facts.forecast_note or 'the supplier submitted none'}): neutral "
         "factor 1" if facts.forecast_wape is None else
         f"forecast accuracy: WAPE of its submitted forecasts {facts.forecast_wape:.4f}"
         + (f" (FVA {facts.forecast_fva:+.4f} against the statistical forecast)" if facts.forecast_fva is not None else "")
         + f"; accuracy factor = max({p['accuracy_floor']}, 1 − WAPE) = {f_acc:.4f}"),
        f"limit = ⌊μ × {p['cover_months']} months of cover × {f_stab:.4f} × {f_disp:.4f} × {f_acc:.4f}⌋ = {fmt(amount)}",
    ]
    factors = {"mean_monthly_minor": str(int(mu)), "cv": f"{cv:.6f}", "stability": f"{f_stab:.6f}",
               "dispute_rate": f"{rate:.6f}", "dispute": f"{f_disp:.6f}", "accuracy": f"{f_acc:.6f}"}
    return CreditLimit(amount, steps, factors)


def check_params(params: dict[str, Any]) -> list[tuple[str, str]]:
    """``(name, reason)`` for each unknown, non-numeric or out-of-range parameter."""
    out = []
    for name, value in params.items():
        if name not in BOUNDS:
            out.append((name, f"unknown parameter (the parameters are {', '.join(BOUNDS)})"))
            continue
        lo, hi = BOUNDS[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not lo <= value <= hi:
            out.append((name, f"must be a number from {lo:g} to {hi:g}"))
        elif name == "months" and int(value) != value:
            out.append((name, "must be a whole number of months"))
    return out
