"""The demo's platform-finance steps through the service (``jointplan demo --via-api``): a supplier's
invoices confirmed by its buyer and financed on request, repaid when the buyer pays, the finance
team's book, and the plan's funding at risk. Called by :mod:`jointplan.demo_api` after the plan.

Dates are the day the demo runs: the supplier's track record is its invoices of the six complete
months before, so the credit limit rule (docs/financing.md) has months to read.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from rich.markup import escape

SUPPLIER, BUYER, INSTRUMENT = "maker", "wholesale", "scf"  # small_chain's reverse-factoring programme
TRACK_RECORD_UNITS = (450, 500, 475, 550, 500, 525)  # widgets a month; gadgets are 40 % of it
AT_RISK = {"scenarios": 100, "seed": 1, "cv": 0.2}


def _months_back(today: date, n: int) -> date:
    """The first day of the month ``n`` months before ``today``'s."""
    y, m = divmod(today.year * 12 + today.month - 1 - n, 12)
    return date(y, m + 1, 1)


def _transfer_prices(scenario) -> dict[str, float]:
    return {tp.product: float(tp.price) for tp in scenario.transfer_prices
            if tp.seller == SUPPLIER and tp.buyer == BUYER and tp.product is not None}


def invoice_csv(scenario, today: date) -> tuple[str, list[str]]:
    """The supplier's CSV: one invoice to the buyer for each of the six months before this one (its
    track record: issued on the 1st, due 30 days later) and one issued today, due in 60 days (the
    one to finance). Priced at the scenario's transfer prices."""
    prices = _transfer_prices(scenario)
    rows, numbers = [], []
    issues = [(_months_back(today, n), 30) for n in range(6, 0, -1)] + [(today, 60)]
    units = list(TRACK_RECORD_UNITS) + [600]
    for (issued, days), widgets in zip(issues, units):
        number = f"MK-{issued:%Y%m%d}"
        numbers.append(number)
        for product, qty in (("widget", widgets), ("gadget", round(widgets * 0.4))):
            rows.append({"number": number, "buyer_id": BUYER, "issue_date": issued.isoformat(),
                         "due_date": (issued + timedelta(days=days)).isoformat(), "currency": scenario.currency or "EUR",
                         "product": product, "quantity": str(qty), "unit_price": f"{prices[product]:.2f}"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue(), numbers


def invoices_and_advance(walk) -> None:
    """Platform finance: maker's invoices confirmed by wholesale, one financed on request and repaid"""
    from jointplan.demo_api import DemoFailed, _table

    api, console = walk.api, walk.console
    maker, wholesale, finance = walk.partner(SUPPLIER), walk.partner(BUYER), walk.finance
    sid, version = walk.facts["scenario"]
    today = date.today()

    programme = api.call(finance, "POST", "/financing-programmes", expect=(201,), json={
        "name": "wholesale supplier finance", "max_invoice_age_days": 60, "min_days_to_due": 10,
        "from_scenario": {"scenario_id": sid, "version": version, "partner": SUPPLIER, "instrument_id": INSTRUMENT}}).json()
    console.print(f"    finance opens programme {programme['id']}: {escape(programme['kind'])} offered by "
                  f"{escape(str(programme['buyer_id']))}, advance {programme['advance_rate']}, annual rate {programme['rate']} "
                  f"({escape(programme['day_count'])}), limit {programme['programme_limit']}")
    for note in (programme.get("source") or {}).get("notes", []):
        console.print(f"      {escape(note)}")

    body, numbers = invoice_csv(walk.scenario, today)
    up = api.call(maker, "POST", "/invoices/upload", content=body.encode(), expect=(200, 201),
                  headers={"Content-Type": "text/csv"}).json()
    ids = {inv["number"]: inv["id"] for inv in up["invoices"]}
    console.print(f"    maker uploads a CSV of {len(ids)} invoices to wholesale (six months of track record and "
                  f"this month's {numbers[-1]})")
    for number in numbers:
        api.call(wholesale, "POST", f"/invoices/{ids[number]}/confirm", echo=False)
    for number in numbers[:-1]:
        inv = api.call(wholesale, "GET", f"/invoices/{ids[number]}", echo=False).json()
        api.call(wholesale, "POST", f"/invoices/{ids[number]}/settlements", expect=(201,), echo=False,
                 json={"amount": inv["open"], "paid_on": inv["due_date"], "reference": f"pay {number}"})
    console.print("    wholesale confirms all of them and has paid the six older ones on their due dates")

    limit = api.call(maker, "GET", f"/financing-programmes/{programme['id']}/suppliers/{SUPPLIER}/limit").json()
    console.print(f"    maker's credit limit in the programme: {limit['limit']} {limit['currency']} "
                  f"({escape(limit['basis'])}), drawn {limit['drawn']}; the rule on the platform's own data:")
    for step in (limit.get("credit_rule") or {}).get("steps") or []:
        console.print(f"      {escape(_clip(str(step), 150))}")

    target = ids[numbers[-1]]
    request = api.call(maker, "POST", "/financing-requests", expect=(201,),
                       json={"programme_id": programme["id"], "invoice_ids": [target]}).json()
    failed = [c for c in request["checks"] if not c["passed"]]
    console.print(f"    request {request['id']}: {escape(request['status'])} at once "
                  f"({len(request['checks'])} rules checked, {len(failed)} failed)")
    item = request["items"][0]
    console.print(f"    invoice {numbers[-1]}: face {item['face']}, advance {item['advance']}, discount {item['discount']}, "
                  f"fee {item['fee']}, paid to maker {item['net']} {request['currency']}, repaid from wholesale's payment "
                  f"due {item['due_date']}")
    if request["status"] != "approved":
        raise DemoFailed(f"the advance was not automatic: {[(c['rule'], c['reason']) for c in failed]}")

    book = api.call(finance, "GET", "/financing/book").json()
    console.print(_table(f"Finance's book on {book['as_of']}", ["programme", "outstanding", "advances", "overdue", "limit", "usage"],
                         [(e["key"], e["outstanding"], e["advances"], e["overdue"], e["limit"] or "-",
                           f"{e['usage']:.1%}" if isinstance(e.get("usage"), (int, float)) else "-")
                          for e in book["by_programme"]],
                         right={"outstanding", "advances", "overdue", "limit", "usage"}))
    open_amount = api.call(wholesale, "GET", f"/invoices/{target}", echo=False).json()["open"]
    api.call(wholesale, "POST", f"/invoices/{target}/settlements", expect=(201,),
             json={"amount": open_amount, "paid_on": today.isoformat(), "reference": "early settlement"})
    advances = api.call(maker, "GET", "/financing/advances").json()["items"]
    mine = next(a for a in advances if a["invoice_id"] == target)
    console.print(f"    wholesale pays {open_amount}: the advance is {escape(mine['status'])}, outstanding {mine['outstanding']}")
    if mine["status"] != "repaid":
        raise DemoFailed(f"the advance on invoice {target} was not repaid by the buyer's payment: {mine}")

    walk.facts["financing_request"] = request["id"]


def funding_at_risk(walk) -> None:
    """Finance: the plan's funding at risk (demand scenarios 20 % around the plan's)"""
    from jointplan.demo_api import DemoFailed, PLAN_TIMEOUT, _money, _table

    api, console = walk.api, walk.console
    plan_id = walk.facts["plan"]
    scenarios = 20 if walk.fast else AT_RISK["scenarios"]
    r = api.call(walk.finance, "POST", f"/plans/{plan_id}/at-risk", json={**AT_RISK, "scenarios": scenarios},
                 expect=(200, 202))
    run = r.json() if r.status_code == 200 else api.poll(walk.finance, r.headers["Location"], "funding at risk", PLAN_TIMEOUT * 4)
    if run["status"] != "done" or not run.get("partners"):
        raise DemoFailed(f"funding at risk of plan {plan_id} did not finish: {run['status']}")
    currency = run.get("currency") or ""
    console.print(_table(f"Funding at risk of plan {plan_id} ({scenarios} demand scenarios, cv {AT_RISK['cv']}; {currency})",
                         ["partner", "point peak need", "P50", "P90", "P95", "P(lines short)", "expected cost"],
                         [(p["partner"], _money(p.get("point_peak_need")), _money(p["peak_need_p50"]),
                           _money(p["peak_need_p90"]), _money(p["peak_need_p95"]),
                           f"{p['probability_lines_not_enough']:.0%}", _money(p["expected_financing_cost"]))
                          for p in run["partners"]],
                         right={"point peak need", "P50", "P90", "P95", "P(lines short)", "expected cost"}))
    per = (run.get("timings") or {}).get("per_scenario")
    if isinstance(per, (int, float)):
        console.print(f"    {per:.2f} s a scenario")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
