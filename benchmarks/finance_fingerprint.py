"""Fingerprint of the funding models: the compiled LP (columns, rows, matrix, bounds, costs, by
name) and the solved figures (objective, drawn, interest, fees per instrument) of the bundled
finance examples, sized after the plan and planned jointly.

    python benchmarks/finance_fingerprint.py --save before.json     # on one commit
    python benchmarks/finance_fingerprint.py --compare before.json  # on another: exits 1 on a change

A refactoring of finance/ that keeps behaviour leaves every LP hash and every figure exactly equal.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from finance.cashflows import cashflows_from_plan, make_cashflow_table, read_cashflows_csv  # noqa: E402
from finance.extension import (  # noqa: E402
    FinanceExtension,
    collection_rates_from_plan,
    joint_scenario,
    operations_only,
    plan_with_finance,
)
from finance.sizing import build_sizing_model, prepare, size_funding  # noqa: E402
from planning.data import compile_data  # noqa: E402
from planning.model import build_model  # noqa: E402
from planning.plan import plan_scenario  # noqa: E402
from planning.solve import compile_model  # noqa: E402
from scenarios.finance import FundingObjective, finance_spec_from_scenario, load_finance_spec, parse_finance_spec  # noqa: E402
from scenarios.io import parse_scenario, read_scenario_file  # noqa: E402

FIN = ROOT / "tests" / "instances" / "finance"
EXAMPLES = ROOT / "scenarios" / "examples"


def _hash(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        if isinstance(a, (list, tuple)) and a and isinstance(a[0], str):
            h.update("\n".join(a).encode())
        else:
            h.update(np.ascontiguousarray(np.asarray(a, dtype=float)).tobytes())
        h.update(b"|")
    return h.hexdigest()[:16]


def lp_fingerprint(m) -> dict:
    cm = compile_model(m)
    cols, rows = cm.names()
    lp = cm.lp
    a = lp.a_matrix_
    return {
        "columns": len(cols),
        "rows": len(rows),
        "names": _hash(cols, rows),
        "matrix": _hash(a.start_, a.index_, a.value_),
        "bounds": _hash(lp.col_lower_, lp.col_upper_, lp.row_lower_, lp.row_upper_),
        "costs": _hash(lp.col_cost_, [lp.offset_], [cm.objective_sense]),
        "integer": int(np.asarray(cm.integer).sum()),
    }


def figures(kpis: dict, objective) -> dict:
    out = {"objective": objective, "total": kpis.get("total", {}), "instruments": {}}
    for a, p in kpis.get("partners", {}).items():
        for n, i in p.get("instruments", {}).items():
            out["instruments"][f"{a}/{n}"] = {k: i[k] for k in ("drawn", "repaid", "peak_balance", "ending_balance",
                                                              "interest", "fees", "discount_taken")}
    return out


def table_hash(df: pd.DataFrame) -> str:
    num = df.select_dtypes("number").fillna(-1e300)
    return _hash(list(map(str, df.columns)), num.to_numpy().ravel()) if len(df) else "empty"


def sized(name: str, table, spec, objective=None) -> dict:
    s = prepare(spec, table)
    m, _ = build_sizing_model(s, FundingObjective(objective or spec.objective))
    res = size_funding(table, spec, objective=objective)
    out = {"case": name, "mode": "sized", "status": res.status, "lp": lp_fingerprint(m), **figures(res.kpis, res.objective)}
    out["instrument_table"] = table_hash(res.tables.get("instruments", pd.DataFrame()))
    out["cash_table"] = table_hash(res.tables.get("cash", pd.DataFrame()))
    if res.diagnosis:
        out["diagnosis"] = res.diagnosis.get("message")
    return out


def joint(name: str, scenario, spec) -> dict:
    reference = plan_scenario(operations_only(scenario))
    rates = collection_rates_from_plan(reference)
    m = build_model(compile_data(joint_scenario(scenario)), [FinanceExtension(spec, collection_rates=rates)])
    plan = plan_with_finance(scenario, spec, reference=reference)
    out = {"case": name, "mode": "joint", "status": plan.status, "lp": lp_fingerprint(m),
           "plan_objective": plan.objective, **figures(plan.kpis.get("finance", {}), None)}
    out["instrument_table"] = table_hash(plan.tables.get("funding_instruments", pd.DataFrame()))
    return out


def synthetic_table():
    """Two partners trading with each other: receivables by customer and age, payables per
    supplier, inventory; every instrument kind (an early payment between two partners)."""
    T = 6
    flows = pd.DataFrame({
        "partner": ["acme"] * T + ["buyer"] * T,
        "period": list(range(T)) * 2,
        "operating_cash_flow": [-40_000, -30_000, 10_000, -20_000, 30_000, 60_000,
                                -20_000, -25_000, -5_000, 15_000, 20_000, 30_000],
        "collections": [30_000, 40_000, 50_000, 45_000, 60_000, 40_000,
                        10_000, 15_000, 20_000, 25_000, 20_000, 10_000],
        "inventory": [80_000, 70_000, 60_000, 65_000, 50_000, 30_000,
                      30_000, 35_000, 40_000, 30_000, 20_000, 10_000],
    })
    rec = []
    for t in range(T):
        rec += [
            {"partner": "acme", "period": t, "customer": "buyer", "age_days": 30, "amount": 20_000 + 1000 * t},
            {"partner": "acme", "period": t, "customer": "big", "age_days": 60, "amount": 25_000 - 2000 * t},
            {"partner": "acme", "period": t, "customer": "aff", "age_days": 30, "amount": 5_000},
            {"partner": "acme", "period": t, "customer": "old", "age_days": 120, "amount": 3_000},
            {"partner": "buyer", "period": t, "customer": "shop", "age_days": 30, "amount": 10_000 + 500 * t},
        ]
    pay = [{"partner": "buyer", "period": t, "supplier": "acme", "amount": 12_000 + 1000 * t} for t in range(1, T)]
    return make_cashflow_table(flows, pd.DataFrame(rec), pd.DataFrame(pay), periods_per_year=12,
                               customers={"acme": ["buyer", "big", "aff", "old"], "buyer": ["shop"]})


SYNTHETIC_SPEC = {
    "name": "synthetic",
    "partners": [
        {"partner": "acme", "opening_cash": 5_000, "min_cash": 1_000, "deposit_rate": 0.001, "instruments": [
            {"id": "rcf", "type": "revolver", "limit": [20_000] * 6, "rate": 0.009, "commitment_fee": 0.0004,
             "draw_until": 4, "opening_balance": 5_000},
            {"id": "abl", "type": "asset_based", "limit": 60_000, "rate": 0.007, "commitment_fee": 0.0002,
             "receivables_advance_rate": 0.85, "inventory_advance_rate": 0.5, "reserves": [2_000, 2_000, 3_000, 3_000, 1_000, 1_000],
             "max_age_days": 90, "concentration_limit": 0.5, "excluded_customers": ["aff"]},
            {"id": "stock", "type": "inventory_loan", "loan_to_value": 0.4, "rate": 0.006, "limit": 15_000},
            {"id": "factor", "type": "factoring", "advance_rate": 0.8, "discount_rate": 0.01, "fee": 0.004,
             "customers": ["big"], "max_age_days": 90, "limit": 15_000},
            {"id": "scf", "type": "reverse_factoring", "buyer": "buyer", "rate": 0.004, "limit": 10_000},
            {"id": "cp", "type": "fixed_tenor", "tenor": 2, "rate": 0.01, "fee": 0.002, "min_amount": 5_000,
             "max_amount": 30_000, "opening_repayments": [3_000, 2_000], "at_end": "carry"},
        ]},
        {"partner": "buyer", "opening_cash": 2_000, "deposit_rate": 0.002, "instruments": [
            {"id": "rcf", "type": "revolver", "limit": 50_000, "rate": 0.012},
            {"id": "acme_terms", "type": "early_payment_discount", "supplier": "acme", "discount": 0.02,
             "discount_days": 10, "net_days": 30, "shift_periods": 1},
            {"id": "loan", "type": "fixed_tenor", "tenor": 3, "tenor_rate": 0.02, "draw_from": 1},
        ]},
    ],
}


def cases() -> list[dict]:
    out = []
    table = read_cashflows_csv(FIN / "short_term_financing.csv")
    out.append(sized("cornuejols-tutuncu", table, load_finance_spec(FIN / "short_term_financing.yaml")))
    small_data = read_scenario_file(EXAMPLES / "small_chain.yaml")
    small, _ = parse_scenario(copy.deepcopy(small_data))
    plan = plan_scenario(small)
    ptable = cashflows_from_plan(plan)
    own = finance_spec_from_scenario(small)
    big = load_finance_spec(FIN / "small_chain_finance.yaml")
    out.append(sized("small_chain/own section", ptable, own))
    out.append(sized("small_chain/small_chain_finance.yaml", ptable, big))
    out.append(sized("small_chain/small_chain_finance.yaml max_ending_cash", ptable, big, "max_ending_cash"))
    syn = synthetic_table()
    spec = parse_finance_spec(copy.deepcopy(SYNTHETIC_SPEC))
    out.append(sized("synthetic every kind", syn, spec))
    out.append(sized("synthetic every kind max_ending_cash", syn, spec, "max_ending_cash"))
    tight = copy.deepcopy(SYNTHETIC_SPEC)
    tight["partners"][0]["instruments"] = tight["partners"][0]["instruments"][:1]
    out.append(sized("synthetic short (elastic)", syn, parse_finance_spec(tight)))
    out.append(joint("small_chain/own section", small, own))
    out.append(joint("small_chain/small_chain_finance.yaml", small, big))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--save")
    ap.add_argument("--compare")
    args = ap.parse_args()
    got = cases()
    text = json.dumps(got, indent=1, default=float)
    if args.save:
        Path(args.save).write_text(text)
    for c in got:
        print(f"{c['mode']:6} {c['case']:50} {c['status']:10} rows {c['lp']['rows']:6} cols {c['lp']['columns']:6} "
              f"objective {c.get('objective') if c.get('objective') is not None else c.get('plan_objective')!r}")
    if args.compare:
        before = json.loads(Path(args.compare).read_text())
        after = json.loads(text)
        bad = 0
        for b, a in zip(before, after):
            if b != a:
                bad += 1
                print(f"CHANGED: {b['mode']} {b['case']}")
                for k in b:
                    if b[k] != a.get(k):
                        print(f"  {k}: {b[k]!r}\n   -> {a.get(k)!r}")
        if len(before) != len(after):
            bad += 1
            print(f"CHANGED: {len(before)} cases before, {len(after)} after")
        print("identical" if not bad else f"{bad} case(s) changed")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
