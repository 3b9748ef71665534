"""What the joint plan did differently from the sequential one, and what it is worth, computed
from the two answers' tables (:func:`explain_comparison`).

For the sequential answer (plan ignoring financing, then fund it) and the joint answer (plan and
funding together), per period t and in the scenario's currency:

- production[t] = sum over plants and products of produced + subcontracted units; its centre
  (production-weighted mean period) says whether the joint plan makes the goods earlier or later;
  workers hired per period;
- stock[a, t] = sum over partner a's sites of inventory at standard cost (the plan's inventory
  ``value``); per partner and for the chain (``"(chain)"``) its peak (and when) and its mean;
- per instrument: peak closing balance, interest + fees, early-payment discounts taken, face
  value of receivables sold (a buyer's programme or factoring) and of payables paid early;
- the net financing cost split into interest + fees + interest accrued past the horizon,
  deposit interest, discounts taken and given (net = the first - the rest + given);
- binding limits: per constraint family, the rows at their bound with a non-zero shadow price
  (the solver's row dual, money per unit the limit moves; for the sequential answer those of the
  operations plan and of its funding model, for the joint answer those of the one model), and the
  largest |shadow price| with its row. A family binding in the sequential answer and not in the
  joint one is a limit the joint plan planned around.

``sentences`` says it in plain words; the figures are in ``figures``, ``production``, ``stock``,
``instruments`` and ``binding`` (and ``to_dict``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planning.plan import period_dates

TOL_UNITS = 0.5  # units: a production difference below this is solver dust
TOL_MONEY = 0.5  # currency
CHAIN = "(chain)"  # the stock entry summed over partners


@dataclass
class Explanation:
    """What the joint plan changed and what it is worth (see the module docstring)."""

    scenario: str
    currency: str
    periods: list[str]
    figures: dict[str, Any]  # name -> {sequential, joint, difference}; net_financing_cost_by_partner: partner -> that
    production: dict[str, Any]
    stock: dict[str, dict[str, Any]]
    instruments: list[dict[str, Any]]
    binding: list[dict[str, Any]]
    sentences: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "currency": self.currency,
            "periods": self.periods,
            "figures": self.figures,
            "production": self.production,
            "stock": self.stock,
            "instruments": self.instruments,
            "binding": self.binding,
            "sentences": self.sentences,
        }


# ---------------------------------------------------------------------------------------------
# Figures from one answer's tables
# ---------------------------------------------------------------------------------------------


def production_by_period(plan: Any, T: int) -> np.ndarray:
    """Units produced or subcontracted per period, over all plants and products."""
    p = plan.tables.get("production")
    if p is None or p.empty:
        return np.zeros(T)
    units = (p["production"] + p["subcontracting"]).groupby(p["period"]).sum()
    return units.reindex(range(T), fill_value=0.0).to_numpy(dtype=float)


def hires_by_period(plan: Any, T: int) -> np.ndarray:
    """Workers hired per period, over all plants."""
    c = plan.tables.get("capacity")
    if c is None or c.empty or "hired" not in c:
        return np.zeros(T)
    return c.groupby("period")["hired"].sum().reindex(range(T), fill_value=0.0).to_numpy(dtype=float)


def stock_by_partner(plan: Any, site_partner: dict[str, str], T: int) -> dict[str, np.ndarray]:
    """Inventory at standard cost per partner and period (the partner's sites)."""
    inv = plan.tables.get("inventory")
    if inv is None or inv.empty:
        return {}
    partner = inv["site"].map(site_partner)
    out = {}
    for a, g in inv.groupby(partner, sort=False):
        out[a] = g.groupby("period")["value"].sum().reindex(range(T), fill_value=0.0).to_numpy(dtype=float)
    return out


def funding_tables(answer: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(instruments, cash) funding tables of an answer: the sizer's for the sequential one, the
    plan's for the joint one."""
    if answer.funding is not None:
        return answer.funding.tables["instruments"], answer.funding.tables["cash"]
    return answer.plan.tables["funding_instruments"], answer.plan.tables["funding_cash"]


def binding_rows(answer: Any) -> list[dict[str, Any]]:
    """The answer's binding limits: the plan's, and for the sequential answer its funding's."""
    rows = list(answer.plan.binding or [])
    if answer.funding is not None:
        rows += list(answer.funding.binding or [])
    return rows


def instrument_figures(inst: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """Per (partner, instrument): type, peak balance (and when), interest + fees, discounts taken,
    face sold (receivable sales) and face paid early (early payments)."""
    out = {}
    for (a, n), g in inst.groupby(["partner", "instrument"], sort=False):
        bal = g["closing_balance"].to_numpy(dtype=float)
        out[a, n] = {
            "type": str(g["type"].iloc[0]),
            "peak_balance": float(bal.max()) if len(bal) else 0.0,
            "peak_period": int(g["period"].iloc[int(bal.argmax())]) if len(bal) else None,
            "interest_and_fees": float((g["interest"] + g["fees"]).sum()),
            "discount_taken": float(g["discount_taken"].sum()),
            "face_sold": float(g["face_sold"].fillna(0.0).sum()) if "face_sold" in g else 0.0,
            "paid_early_face": float(g["paid_early_face"].fillna(0.0).sum()) if "paid_early_face" in g else 0.0,
        }
    return out


def family_summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per family: binding rows, and the largest |shadow price| with its row."""
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        price = abs(r["shadow_price"]) if r.get("shadow_price") is not None else 0.0
        f = out.setdefault(r["family"], {"rows": 0, "max_shadow_price": 0.0, "at": None})
        f["rows"] += 1
        if price > f["max_shadow_price"] or f["at"] is None:
            f["max_shadow_price"], f["at"] = price, r["constraint"]
    return out


def _centre(units: np.ndarray) -> float | None:
    total = units.sum()
    return float((units * np.arange(len(units))).sum() / total) if total > 0 else None


def _fin_parts(answer: Any) -> dict[str, float]:
    tot = (answer.funding.kpis if answer.funding is not None else answer.plan.kpis.get("finance", {}))["total"]
    return {
        "interest_and_fees": tot["financing_cost"],  # interest + fees + accrued past the horizon
        "deposit_interest": tot["deposit_interest"],
        "discounts_taken": tot["discounts_taken"],
        "discounts_given": tot["discounts_given"],
    }


# ---------------------------------------------------------------------------------------------
# The explanation
# ---------------------------------------------------------------------------------------------


def explain_comparison(comparison: Any, scenario: Any) -> Explanation | None:
    """What the joint answer of ``comparison`` (a :class:`finance.compare.JointComparison` of
    ``scenario``) did differently from the sequential one; None unless both are funded."""
    seq, joint = comparison.sequential, comparison.joint
    if not (seq.funded and joint.funded):
        return None
    cur = scenario.currency
    T = scenario.time.periods
    labels = [f"{d:%b %Y}" for d in period_dates(scenario)]
    site_partner = {s.id: s.partner for s in scenario.sites}

    def trio(a: float | None, b: float | None) -> dict[str, float | None]:
        return {"sequential": a, "joint": b, "difference": None if a is None or b is None else b - a}

    fs, fj = _fin_parts(seq), _fin_parts(joint)
    figures = {
        "chain_profit": trio(seq.chain_profit, joint.chain_profit),
        "operating_profit": trio(seq.operating_profit, joint.operating_profit),
        "financing_cost": trio(seq.financing_cost, joint.financing_cost),
        **{k: trio(fs[k], fj[k]) for k in fs},
        "fill_rate": trio(seq.fill_rate, joint.fill_rate),
    }

    ps, pj = production_by_period(seq.plan, T), production_by_period(joint.plan, T)
    diff = pj - ps
    production = {
        "sequential": ps.tolist(),
        "joint": pj.tolist(),
        "difference": diff.tolist(),
        "centre_sequential": _centre(ps),
        "centre_joint": _centre(pj),
        "units_moved": float(np.clip(diff, 0, None).sum()),
        "hired_sequential": hires_by_period(seq.plan, T).tolist(),
        "hired_joint": hires_by_period(joint.plan, T).tolist(),
    }

    ss, sj = stock_by_partner(seq.plan, site_partner, T), stock_by_partner(joint.plan, site_partner, T)
    ss[CHAIN] = sum(ss.values(), np.zeros(T))
    sj[CHAIN] = sum(sj.values(), np.zeros(T))
    stock = {}
    for a in dict.fromkeys([*ss, *sj]):
        xs, xj = ss.get(a, np.zeros(T)), sj.get(a, np.zeros(T))
        stock[a] = {
            "peak_sequential": float(xs.max()), "peak_period_sequential": int(xs.argmax()),
            "peak_joint": float(xj.max()), "peak_period_joint": int(xj.argmax()),
            "mean_sequential": float(xs.mean()), "mean_joint": float(xj.mean()),
        }

    (inst_s, _), (inst_j, _) = funding_tables(seq), funding_tables(joint)
    is_, ij = instrument_figures(inst_s), instrument_figures(inst_j)
    instruments = []
    for key in dict.fromkeys([*is_, *ij]):
        a, b = is_.get(key), ij.get(key)
        row = {"partner": key[0], "instrument": key[1], "type": (a or b)["type"]}
        for k in ("peak_balance", "interest_and_fees", "discount_taken", "face_sold", "paid_early_face"):
            row[k] = trio(a[k] if a else 0.0, b[k] if b else 0.0)
        row["peak_period"] = {"sequential": a["peak_period"] if a else None, "joint": b["peak_period"] if b else None}
        instruments.append(row)

    bs, bj = family_summary(binding_rows(seq)), family_summary(binding_rows(joint))
    binding = []
    for fam in dict.fromkeys([*bs, *bj]):
        a, b = bs.get(fam), bj.get(fam)
        binding.append({
            "family": fam,
            "rows_sequential": a["rows"] if a else 0,
            "rows_joint": b["rows"] if b else 0,
            "max_shadow_price_sequential": a["max_shadow_price"] if a else None,
            "at_sequential": a["at"] if a else None,
            "max_shadow_price_joint": b["max_shadow_price"] if b else None,
            "at_joint": b["at"] if b else None,
        })

    partners = {a: trio(seq.partners.get(a, {}).get("net_financing_cost"), joint.partners.get(a, {}).get("net_financing_cost"))
                for a in dict.fromkeys([*seq.partners, *joint.partners])}
    figures["net_financing_cost_by_partner"] = partners  # type: ignore[assignment]
    ex = Explanation(scenario.name, cur, labels, figures, production, stock, instruments, binding)
    ex.sentences = _sentences(ex, scenario)
    return ex


# ---------------------------------------------------------------------------------------------
# Plain words
# ---------------------------------------------------------------------------------------------


def _m(x: float) -> str:
    return f"{x:,.0f}"


def _span(periods: list[int], labels: list[str]) -> str:
    """'Feb-Mar 2027, Jun 2027' for periods 1, 2, 5."""
    if not periods:
        return ""
    runs, start = [], periods[0]
    for prev, cur in zip(periods, periods[1:] + [None]):
        if cur != prev + 1:
            runs.append(labels[start] if start == prev else f"{labels[start].split()[0]}-{labels[prev]}")
            start = cur
    return ", ".join(runs)


def _row_label(row: str, labels: list[str]) -> str:
    """'finance.credit_limit[maker,abl,5]' -> 'maker abl, Jun 2027' (the last whole-number index
    is the period)."""
    if "[" not in row:
        return row
    idx = row[row.index("[") + 1:-1].split(",")
    at = [i for i, x in enumerate(idx) if x.isdigit()]
    if not at or int(idx[at[-1]]) >= len(labels):
        return " ".join(idx)
    t = at[-1]
    return " ".join(idx[:t] + idx[t + 1:]) + f", {labels[int(idx[t])]}"


def _sentences(ex: Explanation, scenario: Any) -> list[str]:
    f, cur, labels = ex.figures, ex.currency, ex.periods
    out = []
    gain = f["chain_profit"]["difference"]
    out.append(
        f"Planning with finance is worth {gain:+,.0f} {cur} after financing "
        f"({_m(f['chain_profit']['sequential'])} -> {_m(f['chain_profit']['joint'])}): operating profit "
        f"{f['operating_profit']['difference']:+,.0f}, net financing cost {f['financing_cost']['difference']:+,.0f} "
        f"(interest and fees {_m(f['interest_and_fees']['sequential'])} -> {_m(f['interest_and_fees']['joint'])}, "
        f"early-payment discounts taken {_m(f['discounts_taken']['sequential'])} -> {_m(f['discounts_taken']['joint'])}); "
        f"fill rate {f['fill_rate']['sequential']:.1%} -> {f['fill_rate']['joint']:.1%}."
    )
    p = ex.production
    d = np.asarray(p["difference"])
    less = [t for t in range(len(d)) if d[t] < -TOL_UNITS]
    more = [t for t in range(len(d)) if d[t] > TOL_UNITS]
    if less or more:
        cs, cj = p["centre_sequential"], p["centre_joint"]
        way = "later" if cj is not None and cs is not None and cj > cs + 1e-3 else "earlier" if cj < cs - 1e-3 else "around"
        text = f"Production moves {way}: the joint plan makes "
        parts = []
        if less:
            parts.append(f"{_m(-d[less].sum())} fewer units in {_span(less, labels)}")
        if more:
            parts.append(f"{_m(d[more].sum())} more in {_span(more, labels)}")
        out.append(text + " and ".join(parts) + f" (the average unit is made {abs(cj - cs):.2f} periods {way})."
                   if way != "around" else text + " and ".join(parts) + ".")
    else:
        out.append("Production is the same in both plans.")
    hs, hj = np.asarray(p["hired_sequential"]), np.asarray(p["hired_joint"])
    if np.abs(hs - hj).max(initial=0.0) > 1e-3:
        def hires(h: np.ndarray) -> str:
            at = [f"{h[t]:,.2f} in {labels[t]}" for t in range(len(h)) if h[t] > 1e-3]
            return ", ".join(at) or "none"
        out.append(f"Workers hired: {hires(hs)} in the sequential plan; {hires(hj)} in the joint one.")
    names = {a.id: a.name or a.id for a in scenario.partners} | {CHAIN: "the chain"}
    moved = []
    for a, s in ex.stock.items():
        if abs(s["peak_joint"] - s["peak_sequential"]) > TOL_MONEY or abs(s["mean_joint"] - s["mean_sequential"]) > TOL_MONEY:
            moved.append(
                f"{names.get(a, a)} peaks at {_m(s['peak_sequential'])} ({labels[s['peak_period_sequential']]}) "
                f"-> {_m(s['peak_joint'])}" + (f" ({labels[s['peak_period_joint']]})" if s["peak_joint"] > TOL_MONEY else "")
                + f", {_m(s['mean_sequential'])} -> {_m(s['mean_joint'])} on average")
    if moved:
        out.append("Stock at cost: " + "; ".join(moved) + ".")
    by_partner = [f"{names.get(a, a)} {_m(v['sequential'])} -> {_m(v['joint'])}"
                  for a, v in f["net_financing_cost_by_partner"].items()
                  if v["difference"] is not None and abs(v["difference"]) > TOL_MONEY]
    if by_partner:
        out.append("Net financing cost by partner: " + "; ".join(by_partner) + ".")
    used = []
    for r in ex.instruments:
        pb, cost = r["peak_balance"], r["interest_and_fees"]
        disc, face, early = r["discount_taken"], r["face_sold"], r["paid_early_face"]
        name = f"{r['partner']} {r['instrument']}"
        if r["type"] in ("early_payment_discount", "dynamic_discount"):
            if abs(early["difference"]) > TOL_MONEY or abs(disc["difference"]) > TOL_MONEY:
                    used.append(f"{name} pays {_m(early['sequential'])} -> {_m(early['joint'])} of invoices early, "
                            f"discounts {_m(disc['sequential'])} -> {_m(disc['joint'])}")
        elif abs(face["difference"]) > TOL_MONEY:
            used.append(f"{name} ({r['type'].replace('_', ' ')}) sells {_m(face['sequential'])} -> {_m(face['joint'])} "
                        f"of invoices, cost {_m(cost['sequential'])} -> {_m(cost['joint'])}")
        elif abs(pb["difference"]) > TOL_MONEY or abs(cost["difference"]) > TOL_MONEY:
            used.append(f"{name} peaks at {_m(pb['sequential'])} -> {_m(pb['joint'])}, "
                        f"interest and fees {_m(cost['sequential'])} -> {_m(cost['joint'])}")
    if used:
        out.append("Funding: " + "; ".join(used) + ".")
    only_seq = [b for b in ex.binding if b["rows_sequential"] and not b["rows_joint"]]
    fewer = [b for b in ex.binding if b["rows_joint"] and b["rows_sequential"] > b["rows_joint"]]
    only_joint = [b for b in ex.binding if b["rows_joint"] and not b["rows_sequential"]]

    def fam(b: dict[str, Any], side: str) -> str:
        n = b[f"rows_{side}"]
        return (f"{b['family']} ({n} row{'s' if n != 1 else ''}, shadow price up to "
                f"{b[f'max_shadow_price_{side}']:,.4f} {cur} per unit of the limit, at "
                f"{_row_label(b[f'at_{side}'], labels)})")

    if only_seq or fewer:
        out.append("Binding in the sequential answer and not (or less) in the joint one: "
                   + "; ".join([fam(b, "sequential") for b in only_seq]
                               + [fam(b, "sequential") + f", {b['rows_joint']} in the joint plan" for b in fewer]) + ".")
    if only_joint:
        out.append("Binding only in the joint plan: " + "; ".join(fam(b, "joint") for b in only_joint) + ".")
    return out


__all__ = ["Explanation", "explain_comparison", "family_summary", "funding_tables", "hires_by_period",
           "instrument_figures", "production_by_period", "stock_by_partner"]
