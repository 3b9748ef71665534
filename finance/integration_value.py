"""The value of integration: what planning operations and funding together is worth, over a grid.

For every point of a grid the user sets, the scenario is changed as the point says and answered
twice with :mod:`finance.compare`'s two answers (one derivation): **sequential** (plan ignoring
financing, then fund that plan at least cost: :func:`~finance.compare.sequential_answer`) and
**joint** (operations and funding together: :func:`~finance.compare.joint_answer`). The grid's
axes (each a list; ``None`` in a list means "as the scenario has it"):

- ``limit_share`` s: each partner's credit lines (its ``revolver`` and ``asset_based``
  instruments) get the limit ``s x N_a``, where ``N_a`` is the partner's peak funding need under
  the sequential plan at this point's demand and terms (``max_t max(0, min cash - cash before
  financing)``, :func:`finance.sizing.size_plan_funding`). A partner with several lines splits
  ``s x N_a`` in proportion to their limits in the scenario (a line without a limit weighs
  ``N_a``). An asset-based line stays capped by its borrowing base too.
- ``rate`` r, **a year**: every credit line's interest becomes ``r / P`` a period (``P`` the
  spec's periods a year, else the scenario's calendar's).
- ``buyer_terms`` L, **periods**: the largest buyer (the partner buying the most from the chain's
  other partners in the sequential plan at the scenario's own demand and terms, or ``buyer``) pays
  each of its in-chain sellers L periods after the invoice (a ``trade_terms`` row per pair).
- ``demand`` k: every demand quantity times k.

Per point: both answers' status, chain profit after financing, operating profit, net financing
cost and fill rate; joint - sequential; whether the sequential plan could be funded at all; the
credit limits set; the limit families at their bound in plan-then-fund (its operations plan and
its funding LP) and in the joint plan, with their rows and summed shadow prices (``binding``:
why integration pays, or not, at that point); seconds spent (operations plan, sizing, joint solve) and whether the joint
solve was warm-started. Two invariants are checked at every point and reported:

- **joint >= sequential**: the sequential plan with its funding is a feasible joint plan (same
  operations, same instruments, same collection rates), so when it is funded
  ``joint chain profit >= sequential chain profit - tol``, ``tol = max(1e-6, MIP gap) x
  max(1, |sequential|)``;
- **cash is conserved** in each answer's funding tables
  (:func:`finance.sizing.conservation_residuals`: every identity's largest residual at most
  :data:`CONSERVATION_TOL`) and, for the joint answer, the plan's cash table agrees with its
  funding table (closing cash, operating cash flow).

Points run in order ``demand, buyer_terms, rate, limit_share`` (the last fastest). A run of
points shares one sequential operations plan per (demand, buyer_terms) (operations ignoring
financing do not depend on the lines) and warm-starts each solve from the previous point's: the
operations plan from the previous (demand, terms) one's basis, the joint plan from the previous
point's joint basis (:mod:`planning.warm`, matched by name). ``workers`` > 1 splits the points
into that many contiguous runs, each in its own process (as :mod:`finance.at_risk` does): same
figures as serial, each run warm-started within itself.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ProcessPoolExecutor, wait, FIRST_COMPLETED
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pandas as pd

from planning.plan import Plan, plan_scenario
from planning.status import has_solution
from scenarios.fields import Problem, periods_per_year
from scenarios.finance import FinanceError, FinanceSpec
from scenarios.schema import Scenario, TradeTerms

from .compare import Answer, answer_difference, joint_answer, sequential_answer
from .extension import _spec_for, operations_only
from .sizing import conservation_residuals

CREDIT_LINES = ("revolver", "asset_based")
MAX_POINTS = 400
MAX_WORKERS = 64
MAX_LIMIT_SHARE = 100.0
MAX_DEMAND_SCALE = 100.0
MAX_RATE = 10.0  # 1000 % a year
CONSERVATION_TOL = 1e-5  # money: largest residual of a cash identity
DEFAULT_LIMIT_SHARES = (0.25, 0.5, 0.75, 1.0, 1.5)

Progress = Callable[[int, int, dict], None]


# ---------------------------------------------------------------------------------------------
# The grid
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grid:
    """The study's axes (see the module docstring); ``None`` in an axis: as in the scenario."""

    limit_share: tuple[float | None, ...] = DEFAULT_LIMIT_SHARES
    rate: tuple[float | None, ...] = (None,)
    buyer_terms: tuple[int | None, ...] = (None,)
    demand: tuple[float, ...] = (1.0,)
    buyer: str | None = None

    def points(self) -> list[dict[str, Any]]:
        """Every combination, in run order (demand, buyer_terms, rate, limit_share)."""
        out = []
        for k in self.demand:
            for lag in self.buyer_terms:
                for r in self.rate:
                    for s in self.limit_share:
                        out.append({"index": len(out), "demand": k, "buyer_terms": lag, "rate": r, "limit_share": s})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"limit_share": list(self.limit_share), "rate": list(self.rate), "buyer_terms": list(self.buyer_terms),
                "demand": list(self.demand), "buyer": self.buyer}


def _number(v: Any) -> bool:
    return not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)


def check_grid(grid: Grid, scenario: Scenario, workers: int = 1) -> None:
    """Every axis a non-empty list without repeats of values in range; raises
    :class:`FinanceError` naming each offending axis (and value)."""
    problems: list[Problem] = []
    T = scenario.time.periods

    def axis(name: str, values: Sequence[Any], ok: Callable[[Any], bool], rule: str, none_ok: bool = True) -> None:
        if not isinstance(values, (list, tuple)) or not values:
            problems.append(Problem(name, "give at least one value"))
            return
        for v in values:
            if v is None and none_ok:
                continue
            if v is None or not ok(v):
                problems.append(Problem(name, f"{v!r} is not {rule}"))
                return
        if len(set(values)) != len(values):
            problems.append(Problem(name, "a value is given twice"))

    axis("limit_share", grid.limit_share, lambda v: _number(v) and 0 <= v <= MAX_LIMIT_SHARE,
         f"a share of the peak funding need in 0 .. {MAX_LIMIT_SHARE:g}")
    axis("rate", grid.rate, lambda v: _number(v) and 0 <= v <= MAX_RATE, f"a rate a year in 0 .. {MAX_RATE:g}")
    axis("buyer_terms", grid.buyer_terms,
         lambda v: _number(v) and float(v) == int(v) and 0 <= v <= T,
         f"a whole number of periods in 0 .. {T} (the horizon)")
    axis("demand", grid.demand, lambda v: _number(v) and 0 < v <= MAX_DEMAND_SCALE,
         f"a demand scale above 0 and at most {MAX_DEMAND_SCALE:g}", none_ok=False)
    if grid.buyer is not None and grid.buyer not in [a.id for a in scenario.partners]:
        problems.append(Problem("buyer", f"'{grid.buyer}' is not a partner of the scenario "
                                f"({', '.join(a.id for a in scenario.partners)})"))
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
        problems.append(Problem("workers", f"must be a whole number in 1 .. {MAX_WORKERS}, got {workers!r}"))
    n = len(grid.limit_share or ()) * len(grid.rate or ()) * len(grid.buyer_terms or ()) * len(grid.demand or ())
    if not problems and n > MAX_POINTS:
        problems.append(Problem("grid", f"{n} points: at most {MAX_POINTS} (the product of the axes' lengths)"))
    if problems:
        raise FinanceError(problems)


# ---------------------------------------------------------------------------------------------
# A point's scenario and instruments
# ---------------------------------------------------------------------------------------------


def largest_buyer(plan: Plan, partners: Sequence[str]) -> tuple[str | None, list[str]]:
    """The partner buying the most (money) from the chain's other partners in ``plan``, and the
    partners it buys from (None, [] when no partner buys from another)."""
    flows = plan.tables.get("cash_flows")
    if flows is None or not len(flows):
        return None, []
    bought = flows[(flows["kind"] == "purchases") & flows["counterparty"].isin(list(partners))]
    if not len(bought):
        return None, []
    per = (-bought["amount"]).groupby(bought["partner"]).sum().sort_values(ascending=False, kind="stable")
    buyer = str(per.index[0])
    return buyer, sorted(bought.loc[bought["partner"] == buyer, "counterparty"].astype(str).unique())


def sellers_to(plan: Plan, buyer: str, partners: Sequence[str]) -> list[str]:
    flows = plan.tables.get("cash_flows")
    if flows is None or not len(flows):
        return []
    rows = flows[(flows["kind"] == "purchases") & (flows["partner"] == buyer) & flows["counterparty"].isin(list(partners))]
    return sorted(rows["counterparty"].astype(str).unique())


def scenario_at(scenario: Scenario, demand: float, buyer_terms: int | None, buyer: str | None,
                sellers: Sequence[str]) -> Scenario:
    """The scenario with every demand quantity x ``demand`` and, when ``buyer_terms`` is set,
    ``buyer`` paying each of ``sellers`` that many periods after the invoice."""
    if demand == 1.0 and buyer_terms is None:
        return scenario
    s = scenario.model_copy(deep=True)
    if demand != 1.0:
        for d in s.demand:
            d.quantity = [float(q) * demand for q in d.quantity] if isinstance(d.quantity, list) else float(d.quantity) * demand
    if buyer_terms is not None and buyer is not None:
        kept = [t for t in s.trade_terms if not (t.buyer == buyer and t.seller in sellers)]
        s.trade_terms = kept + [TradeTerms(seller=a, buyer=buyer, lag=int(buyer_terms)) for a in sellers]
    return s


def _scalar(v: Any) -> float:
    return float(sum(v) / len(v)) if isinstance(v, list) else float(v)


def spec_at(spec: FinanceSpec, limit_share: float | None, rate: float | None, need: dict[str, float],
            per_year: int) -> tuple[FinanceSpec, dict[str, float]]:
    """The instruments with each partner's credit lines set to ``limit_share x need[partner]``
    (split as their scenario limits, a line without one weighing the need) and their rate to
    ``rate / per_year`` a period; returns the spec and each partner's total credit limit."""
    partners, limits = [], {}
    for pf in spec.partners:
        lines = [i for i in pf.instruments if i.type in CREDIT_LINES]
        if not lines or (limit_share is None and rate is None):
            partners.append(pf)
            if lines:
                limits[pf.partner] = sum(_scalar(i.limit) if i.limit is not None else math.inf for i in lines)
            continue
        n = float(need.get(pf.partner, 0.0))
        weights = [_scalar(i.limit) if i.limit is not None else n for i in lines]
        total_w = sum(weights)
        new = []
        for inst in pf.instruments:
            if inst.type not in CREDIT_LINES:
                new.append(inst)
                continue
            upd: dict[str, Any] = {}
            if limit_share is not None:
                w = weights[lines.index(inst)]
                upd["limit"] = limit_share * n * (w / total_w if total_w > 0 else 1.0 / len(lines))
            if rate is not None:
                upd["rate"] = rate / per_year
            new.append(inst.model_copy(update=upd))
        limits[pf.partner] = sum(_scalar(i.limit) if i.limit is not None else math.inf
                                 for i in new if i.type in CREDIT_LINES)
        partners.append(pf.model_copy(update={"instruments": new}))
    return spec.model_copy(update={"partners": partners}), limits


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------


def answer_conservation(ans: Answer) -> float | None:
    """The largest cash-conservation residual of an answer's funding (None: nothing to check)."""
    if ans.mode == "sequential":
        if ans.funding is None or not ans.funding.tables:
            return None
        res = conservation_residuals(ans.funding.tables["cash"], ans.funding.tables.get("instruments"))
        return max(res.values())
    plan = ans.plan
    if plan is None or "funding_cash" not in plan.tables:
        return None
    fc = plan.tables["funding_cash"]
    res = conservation_residuals(fc, plan.tables.get("funding_instruments"))
    pc = plan.tables["cash"].set_index(["partner", "period"])
    f = fc.set_index(["partner", "period"]).reindex(pc.index)
    res["plan_closing_cash"] = float((f["closing_cash"] - pc["closing_cash"]).abs().max())
    res["plan_operating_cash_flow"] = float((f["operating_cash_flow"] - (pc["inflows"] - pc["outflows"])).abs().max())
    return max(res.values())


def binding_families(*sources: Any) -> dict[str, dict[str, float]]:
    """Per limit family at its bound in the sources (plans or funding results: their ``binding``):
    how many rows, and the sum of their shadow prices' sizes (money per unit of the limit; 0 where
    the solve gave no duals; sizes, because the funding LP minimises cost and the plan maximises
    profit, so their signs differ)."""
    out: dict[str, dict[str, float]] = {}
    for b in [b for src in sources if src is not None for b in (getattr(src, "binding", None) or [])]:
        f = out.setdefault(str(b.get("family")), {"rows": 0, "shadow_price_abs_sum": 0.0})
        f["rows"] += 1
        f["shadow_price_abs_sum"] += abs(float(b.get("shadow_price") or 0.0))
    return out


def not_worse_tolerance(seq: Answer, joint: Answer) -> float:
    gap = 0.0
    if joint.plan is not None and joint.plan.solver_method == "branch_and_bound":
        gap = float(joint.plan.mip_gap or 0.0)
    return max(1e-6, gap) * max(1.0, abs(seq.chain_profit or 0.0))


# ---------------------------------------------------------------------------------------------
# Running points
# ---------------------------------------------------------------------------------------------


def _figures(prefix: str, ans: Answer) -> dict[str, Any]:
    return {f"{prefix}_status": ans.status, f"{prefix}_funded": ans.funded,
            f"{prefix}_chain_profit": ans.chain_profit, f"{prefix}_operating_profit": ans.operating_profit,
            f"{prefix}_financing_cost": ans.financing_cost, f"{prefix}_fill_rate": ans.fill_rate}


@dataclass
class _Run:
    """State a run of points carries from one point to the next (warm starts, shared plans)."""

    scenario: Scenario
    spec: FinanceSpec
    buyer: str | None
    sellers: list[str]
    per_year: int
    time_limit: float | None
    warm: bool
    ops: dict[tuple, tuple[Plan, dict[str, float], float]] = field(default_factory=dict)
    last_ops: Plan | None = None
    last_joint: Plan | None = None
    keep: bool = False
    answers: dict[int, tuple[Answer, Answer]] = field(default_factory=dict)

    def operations(self, scn: Scenario, key: tuple) -> tuple[Plan, dict[str, float], float, bool]:
        """The (demand, terms) group's plan ignoring financing and each partner's peak need."""
        if key in self.ops:
            plan, need, _ = self.ops[key]
            return plan, need, 0.0, False
        t0 = time.perf_counter()
        warm = self.last_ops.basis if self.warm and self.last_ops is not None and has_solution(self.last_ops.status) else None
        plan = plan_scenario(operations_only(scn), time_limit=self.time_limit, warm=warm,
                             warm_label="the previous grid point's operations plan")
        need: dict[str, float] = {}
        if has_solution(plan.status):
            base = sequential_answer(scn, self.spec, plan=plan, time_limit=self.time_limit)
            if base.funding is not None and base.funding.kpis:
                need = {a: float(k.get("peak_funding_need") or 0.0) for a, k in base.funding.kpis["partners"].items()}
            self.last_ops = plan
        seconds = time.perf_counter() - t0
        self.ops = {key: (plan, need, seconds)}  # one group at a time: points come grouped
        return plan, need, seconds, bool(plan.warm_start and plan.warm_start.get("used"))

    def point(self, p: dict[str, Any]) -> dict[str, Any]:
        t_point = time.perf_counter()
        scn = scenario_at(self.scenario, p["demand"], p["buyer_terms"], self.buyer, self.sellers)
        ops, need, ops_s, ops_warm = self.operations(scn, (p["demand"], p["buyer_terms"]))
        row: dict[str, Any] = {**p, "buyer": self.buyer if p["buyer_terms"] is not None else None}
        if not has_solution(ops.status):
            row.update({"sequential_status": ops.status, "sequential_funded": False, "joint_status": None,
                        "note": f"the plan ignoring financing has status {ops.status}",
                        "seconds_operations_plan": ops_s, "seconds": time.perf_counter() - t_point})
            return row
        spec_p, limits = spec_at(self.spec, p["limit_share"], p["rate"], need, self.per_year)
        t0 = time.perf_counter()
        seq = sequential_answer(scn, spec_p, plan=ops, time_limit=self.time_limit)
        t_seq = time.perf_counter() - t0
        t0 = time.perf_counter()
        prev = self.last_joint if self.warm and self.last_joint is not None and has_solution(self.last_joint.status) else None
        joint = joint_answer(scn, spec_p, reference=ops, time_limit=self.time_limit,
                             warm=prev.basis if prev is not None else None,
                             warm_label="the previous grid point's joint plan")
        t_joint = time.perf_counter() - t0
        if joint.plan is not None and joint.plan.basis is not None:
            self.last_joint = joint.plan
        diff = answer_difference(seq, joint)
        tol = not_worse_tolerance(seq, joint)
        if seq.funded:
            not_worse = bool(joint.funded and joint.chain_profit >= seq.chain_profit - tol)
        else:
            not_worse = None  # nothing to compare with: the sequential plan cannot be funded
        res_seq, res_joint = answer_conservation(seq), answer_conservation(joint)
        ws = joint.plan.warm_start if joint.plan is not None else None
        row.update({
            "peak_need": sum(need.values()),
            "peak_need_by_partner": need,
            "credit_limit": sum(v for v in limits.values() if math.isfinite(v)) if limits else None,
            "credit_limit_by_partner": {a: (v if math.isfinite(v) else None) for a, v in limits.items()},
            **_figures("sequential", seq),
            **_figures("joint", joint),
            "gain": diff["chain_profit"] if diff else None,
            "gain_financing_cost": diff["financing_cost"] if diff else None,
            "gain_operating_profit": diff["operating_profit"] if diff else None,
            "gain_fill_rate": diff["fill_rate"] if diff else None,
            "sequential_diagnosis": (seq.diagnosis or {}).get("message") if not seq.funded else None,
            "joint_diagnosis": (joint.diagnosis or {}).get("message") if not joint.funded else None,
            "joint_not_worse": not_worse,
            "tolerance": tol,
            "conservation_residual_sequential": res_seq,
            "conservation_residual_joint": res_joint,
            "conserved": all(r is None or r <= CONSERVATION_TOL for r in (res_seq, res_joint)),
            "warm_started_operations": ops_warm,
            "warm_started_joint": bool(ws and ws.get("used")),
            "binding_sequential": binding_families(ops, seq.funding),
            "binding_joint": binding_families(joint.plan),
            "highs_seconds_joint": float(joint.plan.timings.get("highs", 0.0)) if joint.plan is not None else None,
            "simplex_iterations_joint": joint.plan.simplex_iterations if joint.plan is not None else None,
            "seconds_operations_plan": ops_s,
            "seconds_sequential_funding": t_seq,
            "seconds_joint": t_joint,
        })
        row["seconds"] = time.perf_counter() - t_point
        if self.keep:
            self.answers[p["index"]] = (seq, joint)
        return row


def _run_points(run: _Run, points: Sequence[dict[str, Any]], report: Callable[[dict], None]) -> list[dict[str, Any]]:
    rows = []
    for p in points:
        row = run.point(p)
        rows.append(row)
        report(row)
    return rows


def _worker(scenario_json: dict, spec_json: dict, buyer: str | None, sellers: list[str], per_year: int,
            time_limit: float | None, warm: bool, points: list[dict[str, Any]], queue: Any) -> list[dict[str, Any]]:
    """A process's run of points (rebuilt from JSON); each finished point goes on ``queue``."""
    from scenarios.finance import parse_finance_spec
    from scenarios.io import parse_scenario

    scenario, _ = parse_scenario(scenario_json, check=False)
    run = _Run(scenario, parse_finance_spec(spec_json, check=False), buyer, sellers, per_year, time_limit, warm)
    return _run_points(run, points, lambda row: queue.put(row))


# ---------------------------------------------------------------------------------------------
# The study
# ---------------------------------------------------------------------------------------------


TABLE_COLUMNS = (
    "index", "demand", "buyer_terms", "rate", "limit_share", "peak_need", "credit_limit",
    "sequential_funded", "sequential_chain_profit", "joint_chain_profit", "gain",
    "sequential_fill_rate", "joint_fill_rate", "gain_fill_rate",
    "sequential_financing_cost", "joint_financing_cost", "sequential_operating_profit", "joint_operating_profit",
    "sequential_status", "joint_status", "joint_not_worse", "conserved",
    "conservation_residual_sequential", "conservation_residual_joint",
    "warm_started_joint", "seconds_operations_plan", "seconds_sequential_funding", "seconds_joint", "seconds",
)


@dataclass
class IntegrationStudy:
    """The grid's rows (one per point, in run order) and what was run."""

    scenario: str
    currency: str
    settings: dict[str, Any]
    rows: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    answers: dict[int, tuple[Answer, Answer]] = field(default_factory=dict)

    @property
    def invariants_hold(self) -> bool:
        return all(r.get("joint_not_worse") is not False and r.get("conserved", True) for r in self.rows)

    def summary(self) -> dict[str, Any]:
        gains = [r["gain"] for r in self.rows if r.get("gain") is not None]
        best = max((r for r in self.rows if r.get("gain") is not None), key=lambda r: r["gain"], default=None)
        return {
            "points": len(self.rows),
            "sequential_not_funded": sum(1 for r in self.rows if not r.get("sequential_funded")),
            "joint_not_funded": sum(1 for r in self.rows if r.get("joint_status") and not r.get("joint_funded")),
            "joint_strictly_better": sum(1 for g in gains if g > 0.005),
            "largest_gain": best["gain"] if best else None,
            "largest_gain_at": {k: best[k] for k in ("demand", "buyer_terms", "rate", "limit_share")} if best else None,
            "joint_not_worse_everywhere": all(r.get("joint_not_worse") is not False for r in self.rows),
            "conserved_everywhere": all(r.get("conserved", True) for r in self.rows),
            "warm_started_joint": sum(1 for r in self.rows if r.get("warm_started_joint")),
        }

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([{c: r.get(c) for c in TABLE_COLUMNS} for r in self.rows], columns=list(TABLE_COLUMNS))

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        return {"scenario": self.scenario, "currency": self.currency, "settings": self.settings,
                "summary": self.summary(), "rows": [clean(r) for r in self.rows], "timings": self.timings}


def value_of_integration(
    scenario: Scenario,
    grid: Grid | None = None,
    spec: FinanceSpec | None = None,
    *,
    workers: int = 1,
    time_limit: float | None = None,
    warm: bool = True,
    progress: Progress | None = None,
    keep_answers: bool = False,
) -> IntegrationStudy:
    """The study over ``grid`` (default: the limit shares :data:`DEFAULT_LIMIT_SHARES`, all else
    as in the scenario) with ``spec`` (default: the scenario's finance section); see the module
    docstring. ``progress(done, total, row)`` after each point; ``keep_answers`` keeps each
    point's two :class:`~finance.compare.Answer` (serial runs only). Bad input raises
    :class:`FinanceError` naming the field."""
    grid = grid or Grid()
    check_grid(grid, scenario, workers)
    spec = _spec_for(scenario, spec)
    if (any(v is not None for v in grid.limit_share) or any(v is not None for v in grid.rate)) and not any(
            i.type in CREDIT_LINES for pf in spec.partners for i in pf.instruments):
        raise FinanceError([Problem("limit_share", "the instruments have no credit line (revolver or asset_based) "
                                    "whose limit or rate the grid could set")])
    per_year = spec.periods_per_year or periods_per_year(scenario.time.freq)
    t_start = time.perf_counter()
    buyer, sellers = grid.buyer, []
    base_ops = None
    if any(v is not None for v in grid.buyer_terms):
        base_ops = plan_scenario(operations_only(scenario), time_limit=time_limit)
        if not has_solution(base_ops.status):
            raise FinanceError([Problem("scenario", f"the plan ignoring financing has status {base_ops.status}: no "
                                        "buyer's purchases to set terms on")])
        names = [a.id for a in scenario.partners]
        if buyer is None:
            buyer, sellers = largest_buyer(base_ops, names)
        else:
            sellers = sellers_to(base_ops, buyer, names)
        if buyer is None or not sellers:
            raise FinanceError([Problem("buyer_terms" if grid.buyer is None else "buyer",
                                        (f"'{buyer}' buys nothing from the chain's partners" if buyer else
                                         "no partner buys from another in the plan") + ": no buyer's terms to vary")])
    points = grid.points()
    total = len(points)
    say = progress or (lambda _d, _t, _r: None)
    rows: list[dict[str, Any]] = []
    run = _Run(scenario, spec, buyer, sellers, per_year, time_limit, warm, keep=keep_answers and workers == 1)
    if base_ops is not None:
        run.last_ops = base_ops
    setup = time.perf_counter() - t_start
    t0 = time.perf_counter()
    if workers == 1 or total == 1:
        counter = iter(range(1, total + 1))
        rows = _run_points(run, points, lambda row: say(next(counter), total, row))
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        n = min(workers, total)
        runs = [points[i * total // n:(i + 1) * total // n] for i in range(n)]
        scenario_json = scenario.model_dump(mode="json", exclude_none=True)
        spec_json = spec.model_dump(mode="json", exclude_defaults=True)
        with ctx.Manager() as manager, ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
            queue = manager.Queue()
            futures = [pool.submit(_worker, scenario_json, spec_json, buyer, sellers, per_year, time_limit, warm,
                                   chunk, queue) for chunk in runs if chunk]
            pending = set(futures)
            done_count = 0
            while pending:
                _done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                while not queue.empty():
                    row = queue.get()
                    done_count += 1
                    say(done_count, total, row)
            while not queue.empty():
                done_count += 1
                say(done_count, total, queue.get())
            for fut in futures:
                rows += fut.result()
        rows.sort(key=lambda r: r["index"])
    elapsed = time.perf_counter() - t0
    settings = {
        "grid": grid.to_dict(),
        "buyer": buyer,
        "buyer_sellers": sellers,
        "periods_per_year": per_year,
        "workers": workers,
        "warm_start": warm,
        "credit_lines": [f"{pf.partner}.{i.id}" for pf in spec.partners for i in pf.instruments if i.type in CREDIT_LINES],
        "rate_unit": "a year (each credit line's rate a period = rate / periods_per_year); null: the scenario's",
        "buyer_terms_unit": "periods from invoice to payment; null: the scenario's",
        "limit_share_of": "each partner's peak funding need under the sequential plan at the point's demand and terms",
        "conservation_tolerance": CONSERVATION_TOL,
    }
    timings = {"setup": setup, "points": elapsed, "per_point": elapsed / max(1, total),
               "point_seconds_sum": float(sum(r.get("seconds", 0.0) for r in rows))}
    return IntegrationStudy(scenario.name, scenario.currency, settings, rows, timings,
                            run.answers if keep_answers else {})


__all__ = ["Grid", "IntegrationStudy", "check_grid", "largest_buyer", "scenario_at", "spec_at", "value_of_integration"]
