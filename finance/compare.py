"""The value of planning operations and funding together, and the reverse-factoring what-if.

Sequential answer: plan operations ignoring financing (minimum cash not enforced, a funding gap
costs nothing), then size that plan's funding at least cost with the scenario's instruments
(:func:`finance.sizing.size_plan_funding`). Joint answer: plan operations and funding together
(:func:`finance.extension.plan_with_finance`). Both report the chain's operating profit, its net
financing cost (interest + fees + interest accrued on loans carried past the horizon - deposit
interest - early-payment discounts taken), the chain profit after financing and service (fill
rate). The joint answer can only be as good or better when the sequential plan can be funded (its
plan and funding are one of the joint model's choices); when the sequential plan cannot be funded
the comparison says so, with the diagnosis (which partner is short, when, by how much).

The joint model takes each partner's collection rate (how fast sold invoices leave a factor's
books) from the sequential plan, so both answers price factoring alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planning.plan import Plan, plan_scenario
from planning.status import has_solution
from scenarios.fields import Problem
from scenarios.finance import FinanceError, FinanceSpec, FundingObjective

from .explain import Explanation, explain_comparison
from .extension import _spec_for, needs_collection_rates, operations_only, plan_with_finance
from .sizing import FundingResult, size_plan_funding

@dataclass
class Answer:
    """One way of planning: its plan, its funding and the chain's figures."""

    mode: str  # sequential | joint
    status: str  # optimal | feasible | infeasible (cannot be funded) | the planning status
    operating_profit: float | None = None  # chain profit before financing
    financing_cost: float | None = None  # chain's net financing cost
    chain_profit: float | None = None  # after financing (None when it cannot be funded)
    fill_rate: float | None = None
    diagnosis: dict[str, Any] | None = None
    partners: dict[str, dict[str, Any]] = field(default_factory=dict)  # per partner: financing cost, peak debt
    plan: Plan | None = None
    funding: FundingResult | None = None

    @property
    def funded(self) -> bool:
        return has_solution(self.status)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "status": self.status,
            "funded": self.funded,
            "operating_profit": self.operating_profit,
            "financing_cost": self.financing_cost,
            "chain_profit": self.chain_profit,
            "fill_rate": self.fill_rate,
            "partners": self.partners,
            "diagnosis": self.diagnosis,
        }


def _partner_figures(fin_kpis: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a: {
            "net_financing_cost": k["net_financing_cost"],
            "peak_debt": k["peak_debt"],
            "peak_debt_period": k["peak_debt_period"],
            "peak_shortfall": k["peak_shortfall"],
        }
        for a, k in fin_kpis.get("partners", {}).items()
    }


def sequential_answer(scenario: Any, spec: FinanceSpec, *, plan: Plan | None = None, **solve: Any) -> Answer:
    """Plan ignoring financing (or take ``plan``), then fund the plan at least cost."""
    plan = plan or plan_scenario(operations_only(scenario), **solve)
    if not has_solution(plan.status):
        return Answer("sequential", plan.status, diagnosis=plan.diagnosis, plan=plan)
    chain = plan.kpis["chain"]
    funding = size_plan_funding(plan, spec, objective=FundingObjective.min_cost, time_limit=solve.get("time_limit"))
    ans = Answer(
        "sequential",
        funding.status,
        operating_profit=chain["profit"],
        fill_rate=chain["fill_rate"],
        plan=plan,
        funding=funding,
        diagnosis=funding.diagnosis,
    )
    if funding.kpis:
        ans.partners = _partner_figures(funding.kpis)
    if funding.funded:
        ans.financing_cost = funding.kpis["total"]["net_financing_cost"]
        ans.chain_profit = ans.operating_profit - ans.financing_cost
    return ans


def joint_answer(scenario: Any, spec: FinanceSpec, *, reference: Plan | None = None, **solve: Any) -> Answer:
    """Plan operations and funding together."""
    plan = plan_with_finance(scenario, spec, reference=reference, **solve)
    if not plan.kpis:
        return Answer("joint", plan.status, diagnosis=plan.diagnosis, plan=plan)
    chain = plan.kpis["chain"]
    cost = -chain.get("extensions", {}).get("finance", 0.0)
    ans = Answer(
        "joint",
        plan.status,
        operating_profit=chain["profit"] + cost,
        financing_cost=cost if has_solution(plan.status) else None,
        fill_rate=chain["fill_rate"],
        diagnosis=plan.diagnosis if not has_solution(plan.status) else None,
        partners=_partner_figures(plan.kpis.get("finance", {})),
        plan=plan,
    )
    if has_solution(plan.status):
        ans.chain_profit = chain["profit"]
    return ans


def _short(diag: dict[str, Any] | None) -> str:
    if not diag:
        return "no diagnosis"
    return diag.get("message") or diag.get("note") or "see the diagnosis"


@dataclass
class JointComparison:
    scenario: str
    currency: str
    sequential: Answer
    joint: Answer
    difference: dict[str, float] | None
    message: str
    explanation: Explanation | None = None  # what the joint plan did differently (both funded)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "currency": self.currency,
            "sequential": self.sequential.to_dict(),
            "joint": self.joint.to_dict(),
            "difference": self.difference,
            "message": self.message,
            "explanation": self.explanation.to_dict() if self.explanation is not None else None,
        }


def answer_difference(seq: Answer, joint: Answer) -> dict[str, float] | None:
    """joint - sequential for chain profit (after financing), financing cost, operating profit and
    fill rate; None unless both are funded."""
    if not (seq.funded and joint.funded):
        return None
    return {
        "chain_profit": joint.chain_profit - seq.chain_profit,
        "financing_cost": joint.financing_cost - seq.financing_cost,
        "operating_profit": joint.operating_profit - seq.operating_profit,
        "fill_rate": joint.fill_rate - seq.fill_rate,
    }


def joint_vs_sequential(scenario: Any, spec: FinanceSpec | None = None, **solve: Any) -> JointComparison:
    """The sequential and the joint answer side by side, with joint - sequential for chain profit
    (after financing), financing cost, operating profit and fill rate when both are funded, and
    what the joint plan did differently (:func:`finance.explain.explain_comparison`)."""
    spec = _spec_for(scenario, spec)
    seq = sequential_answer(scenario, spec, **solve)
    ref = seq.plan if seq.plan is not None and has_solution(seq.plan.status) else None
    joint = joint_answer(scenario, spec, reference=ref, **solve)
    difference = answer_difference(seq, joint)
    if difference is not None:
        gain = difference["chain_profit"]
        message = (
            f"planning with finance adds {gain:,.2f} {scenario.currency} to the chain's profit after financing"
            if gain > 0.005
            else "the joint plan is the sequential plan here: funding does not change the best operations"
        )
    elif seq.plan is not None and not has_solution(seq.plan.status):
        message = f"the plan that ignores financing has status {seq.plan.status}"
    elif not seq.funded:
        message = "the sequential plan cannot be funded: " + _short(seq.diagnosis)
        message += (
            f"; the joint plan is funded, at a chain profit of {joint.chain_profit:,.2f} {scenario.currency} after financing"
            if joint.funded
            else "; no plan can be funded either: " + _short(joint.diagnosis)
        )
    else:
        message = "the joint plan cannot be funded: " + _short(joint.diagnosis)
    out = JointComparison(scenario.name, scenario.currency, seq, joint, difference, message)
    out.explanation = explain_comparison(out, scenario)
    return out


# ---------------------------------------------------------------------------------------------
# Reverse-factoring what-if
# ---------------------------------------------------------------------------------------------


@dataclass
class WhatIf:
    scenario: str
    currency: str
    programmes: list[dict[str, str]]  # supplier, buyer, instrument
    rows: list[dict[str, Any]]  # mode, programme (with/without), status, supplier cost, chain figures

    def to_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "currency": self.currency, "programmes": self.programmes, "rows": self.rows}

    def row(self, mode: str, programme: str) -> dict[str, Any]:
        return next(r for r in self.rows if r["mode"] == mode and r["programme"] == programme)


def without_reverse_factoring(spec: FinanceSpec, buyer: str | None = None, supplier: str | None = None) -> tuple[FinanceSpec, list[dict[str, str]]]:
    """The spec without the buyers' programmes (optionally only one buyer's, or one supplier's)."""
    removed: list[dict[str, str]] = []
    partners = []
    for pf in spec.partners:
        keep = []
        for inst in pf.instruments:
            if inst.type == "reverse_factoring" and (buyer is None or inst.buyer == buyer) and (
                supplier is None or pf.partner == supplier
            ):
                removed.append({"supplier": pf.partner, "buyer": inst.buyer, "instrument": inst.id})
            else:
                keep.append(inst)
        partners.append(pf.model_copy(update={"instruments": keep}))
    return spec.model_copy(update={"partners": partners}), removed


def reverse_factoring_whatif(
    scenario: Any,
    spec: FinanceSpec | None = None,
    *,
    buyer: str | None = None,
    supplier: str | None = None,
    modes: tuple[str, ...] = ("sequential", "joint"),
    comparison: JointComparison | None = None,
    **solve: Any,
) -> WhatIf:
    """The scenario with and without the buyers' reverse-factoring programmes: each supplier's net
    financing cost, the chain's financing cost and profit after financing, fill rate; for the
    sequential answer (the same plan funded both ways) and the joint answer (plan and funding
    chosen again). ``comparison``: :func:`joint_vs_sequential` of the same scenario and spec,
    whose answers are the "with" rows and whose operations plan is reused (not solved again)."""
    spec = _spec_for(scenario, spec)
    bare, programmes = without_reverse_factoring(spec, buyer, supplier)
    if not programmes:
        raise FinanceError([Problem("finance", "no reverse-factoring programme"
                                    + (f" of buyer '{buyer}'" if buyer else "")
                                    + (f" for supplier '{supplier}'" if supplier else "") + " in the instruments")])
    suppliers = sorted({p["supplier"] for p in programmes})
    rows: list[dict[str, Any]] = []
    ops = None
    if comparison is not None and comparison.sequential.plan is not None:
        ops = comparison.sequential.plan
    elif "sequential" in modes or needs_collection_rates(spec):
        ops = plan_scenario(operations_only(scenario), **solve)
    for mode in modes:
        for label, sp in (("with", spec), ("without", bare)):
            if comparison is not None and label == "with":
                ans = comparison.sequential if mode == "sequential" else comparison.joint
            elif mode == "sequential":
                ans = sequential_answer(scenario, sp, plan=ops, **solve)
            else:
                ans = joint_answer(scenario, sp, reference=ops if ops is not None and has_solution(ops.status) else None, **solve)
            row = {
                "mode": mode,
                "programme": label,
                "status": ans.status,
                "supplier_financing_cost": {a: ans.partners.get(a, {}).get("net_financing_cost") if ans.funded else None
                                            for a in suppliers},
                "chain_financing_cost": ans.financing_cost,
                "chain_profit": ans.chain_profit,
                "fill_rate": ans.fill_rate,
                "diagnosis": ans.diagnosis if not ans.funded else None,
            }
            rows.append(row)
    return WhatIf(scenario.name, scenario.currency, programmes, rows)


__all__ = [
    "Answer",
    "JointComparison",
    "answer_difference",
    "WhatIf",
    "joint_answer",
    "joint_vs_sequential",
    "reverse_factoring_whatif",
    "sequential_answer",
    "without_reverse_factoring",
]
