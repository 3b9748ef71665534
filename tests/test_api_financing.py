"""Financing requests against confirmed invoices (issue 18 part 2), on SQLite and PostgreSQL:
amounts worked by hand (factoring discount and fee, a line's interest), repayment from partial
settlements into the ledger, every rule's reason and finance's inbox, the credit limit from the
platform's own invoices, programmes copied from a scenario instrument, invalid input named.

Guards broken on purpose once, each seen failing here: the repayment hook left out of
``api.invoices.settle`` (the advance stays 3330.00 outstanding after the buyer's first payment);
the hard-rule re-check skipped in ``decisions.decide`` (finance's approval of a request with an
unconfirmed invoice passes instead of 409).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from api_world import OTHER, OWN
from financing_helpers import invoice, ok, pay, programme, request, set_limit, today


def ledger(w, user="fi", **params):
    return ok(w.client.get("/financing/ledger", params={"limit": 200, **params}, headers=w.headers(user)))


def checks_of(req):
    return {(c["rule"], c["invoice_id"]): c for c in req["checks"]}


def test_factoring_amounts_by_hand_and_repaid_from_partial_settlements(world):
    w = world
    p = programme(w)  # advance 0.9, 6 % a year actual/360, fee 0.2 % on the face value
    inv = invoice(w, "wholesale", "maker", "F-1", amount="3700.00", due=60)
    odd = invoice(w, "wholesale", "maker", "F-2", amount="1234.57", due=30)
    set_limit(w, p["id"], "wholesale", "10000")
    req = request(w, "wholesale", p["id"], [inv["id"], odd["id"]])
    assert req["status"] == "approved", [c for c in req["checks"] if not c["passed"]]
    assert all(c["passed"] for c in req["checks"])
    first, second = req["items"]
    # 0.9 × 3700.00 = 3330.00; discount 3330.00 × 0.06 × 60/360 = 33.30; fee 0.002 × 3700.00 = 7.40
    assert (first["advance"], first["discount"], first["fee"], first["net"]) == ("3330.00", "33.30", "7.40", "3289.30")
    # 0.9 × 1234.57 = 1111.113 → 1111.11 (down); 1111.11 × 0.06 × 30/360 = 5.555 → 5.56 (half up); fee 2.469 → 2.47
    assert (second["advance"], second["discount"], second["fee"], second["net"]) == ("1111.11", "5.56", "2.47", "1103.08")
    assert req["advance"] == "4441.11" and req["net"] == "4392.38"
    # the buyer pays F-1 in two parts: the advance is repaid first, the rest remitted to the supplier
    pay(w, inv["id"], "maker", "1000.00")
    mid = ok(w.client.get(f"/financing-requests/{req['id']}", headers=w.headers("wil")))["items"][0]
    assert (mid["repaid"], mid["outstanding"], mid["status"]) == ("1000.00", "2330.00", "advanced")
    pay(w, inv["id"], "maker", "2700.00")
    done = ok(w.client.get(f"/financing-requests/{req['id']}", headers=w.headers("wil")))["items"][0]
    assert (done["repaid"], done["outstanding"], done["status"]) == ("3330.00", "0.00", "repaid")
    book = ledger(w, supplier_id="wholesale")
    kinds = [(e["kind"], e["amount"]) for e in book["items"] if e["invoice_id"] == inv["id"]]
    assert kinds == [("advance", "3330.00"), ("discount", "33.30"), ("fee", "7.40"), ("settlement", "1000.00"),
                     ("repayment", "1000.00"), ("settlement", "2700.00"), ("repayment", "2330.00"),
                     ("remittance", "370.00")]
    # balances over both invoices: F-2 (1111.11 advanced, nothing paid yet) is still owed to the financier
    assert book["balances"]["EUR"] == {"financier": "-1111.11", "supplier": f"{3289.30 + 370 + 1103.08:.2f}",
                                       "buyer": "-3700.00", "collection": "0.00", "income": f"{33.30 + 7.40 + 5.56 + 2.47:.2f}"}
    assert ok(w.client.get("/invoices/verify", headers=w.headers("fi")))["intact"]


def test_receivables_line_charges_daily_interest_at_repayment(world):
    w = world
    p = programme(w, name="line", kind="receivables_line", advance_rate="0.8", rate="0.10", day_count="actual/365",
                  fee_rate="0")
    inv = invoice(w, "wholesale", "maker", "L-1", amount="3700.00", due=90)
    set_limit(w, p["id"], "wholesale", "10000")
    req = request(w, "wholesale", p["id"], [inv["id"]])
    assert req["status"] == "approved" and req["items"][0]["advance"] == "2960.00" and req["items"][0]["discount"] == "0.00"
    # 73 days later the buyer pays 1000.00: interest 2960.00 × 0.10 × 73/365 = 59.20 first, then 940.80 repaid
    pay(w, inv["id"], "maker", "1000.00", paid_on=73)
    # 36.5 days is not a day count: 146 days in all, 73 more on 2019.20 outstanding: 40.384 → 40.38
    pay(w, inv["id"], "maker", "2700.00", paid_on=146)
    item = ok(w.client.get(f"/financing-requests/{req['id']}", headers=w.headers("wil")))["items"][0]
    assert (item["interest"], item["repaid"], item["status"]) == ("99.58", "2960.00", "repaid")
    kinds = [(e["kind"], e["amount"]) for e in ledger(w, supplier_id="wholesale")["items"]]
    assert kinds == [("advance", "2960.00"), ("settlement", "1000.00"), ("interest", "59.20"), ("repayment", "940.80"),
                     ("settlement", "2700.00"), ("interest", "40.38"), ("repayment", "2019.20"),
                     ("remittance", "640.42")]


def test_failing_rules_go_to_finances_inbox_with_their_reasons(world):
    w = world
    p = programme(w, max_invoice_age_days=30, min_days_to_due=10, buyer_concentration_limit="0.5",
                  programme_limit="5000", auto_decision_ceiling="3000")
    old = invoice(w, "wholesale", "maker", "R-OLD", issued=-45, due=5)  # too old, too close to its due date
    unconfirmed = invoice(w, "wholesale", "maker", "R-NEW", confirm=False)
    req = request(w, "wholesale", p["id"], [old["id"], unconfirmed["id"]])
    assert req["status"] == "in_review" and all(i["status"] == "requested" for i in req["items"])
    c = checks_of(req)
    assert not c["age", old["id"]]["passed"] and "45 days ago; the cut-off is 30 days" in c["age", old["id"]]["reason"]
    assert not c["days_to_due", old["id"]]["passed"] and c["not_past_due", old["id"]]["passed"]
    assert not c["confirmed", unconfirmed["id"]]["passed"] and "is recorded" in c["confirmed", unconfirmed["id"]]["reason"]
    limit = c["supplier_limit", None]
    assert not limit["passed"] and limit["hard"] and "EUR (the credit rule)" in limit["reason"]
    assert not c["concentration", None]["passed"] and "100.0 %" in c["concentration", None]["reason"]
    assert not c["auto_ceiling", None]["passed"] and not c["auto_ceiling", None]["hard"]
    inbox = ok(w.client.get("/financing-requests", params={"status": "in_review"}, headers=w.headers("fi")))
    assert [r["id"] for r in inbox["items"]] == [req["id"]]
    # an invoice held by a request in review cannot be requested again: the rule says by which
    again = request(w, "wholesale", p["id"], [old["id"]])
    assert not checks_of(again)["not_financed", old["id"]]["passed"] and f"request {req['id']}" in \
        checks_of(again)["not_financed", old["id"]]["reason"]
    # finance cannot approve while a hard rule fails; it declines with a comment, which frees the invoice
    refused = w.client.post(f"/financing-requests/{req['id']}/approve", json={"comment": "ok"}, headers=w.headers("fi"))
    assert refused.status_code == 409 and "confirmed (invoice" in refused.text and "supplier_limit" in refused.text
    declined = ok(w.client.post(f"/financing-requests/{req['id']}/decline", json={"comment": "not yet confirmed"},
                                headers=w.headers("fi")))
    assert declined["status"] == "declined" and declined["decided_by"] == "fi" and declined["comment"] == "not yet confirmed"
    assert w.client.post(f"/financing-requests/{req['id']}/approve", json={"comment": "x"},
                         headers=w.headers("fi")).status_code == 409
    # the held-out second request: finance raises the limit (comment kept) and approves despite the soft rules
    set_limit(w, p["id"], "wholesale", "4000", "collateral received")
    approved = ok(w.client.post(f"/financing-requests/{again['id']}/approve", json={"comment": "age accepted"},
                                headers=w.headers("fi")))
    assert approved["status"] == "approved" and approved["items"][0]["status"] == "advanced"
    limit = ok(w.client.get(f"/financing-programmes/{p['id']}/suppliers/wholesale/limit", headers=w.headers("wil")))
    assert limit["limit"] == "4000.00" and limit["drawn"] == "3330.00" and limit["overrides"][0]["set_by"] is None
    staff = ok(w.client.get(f"/financing-programmes/{p['id']}/suppliers/wholesale/limit", headers=w.headers("fi")))
    assert [(o["amount"], o["comment"], o["set_by"]) for o in staff["overrides"]] == [
        ("4000.00", "collateral received", "fi")]
    # another invoice now: over the supplier limit (3330 + 3330 > 4000) and the programme limit
    more = invoice(w, "wholesale", "maker", "R-MORE", issued=-5, due=40)
    over = request(w, "wholesale", p["id"], [more["id"]])
    c = checks_of(over)
    assert over["status"] == "in_review" and not c["supplier_limit", None]["passed"]
    assert not c["programme_limit", None]["passed"] and "6660.00 EUR; programme limit 5000.00 EUR" in c["programme_limit", None]["reason"]
    set_limit(w, p["id"], "wholesale", "10000", "raised")
    refused = w.client.post(f"/financing-requests/{over['id']}/approve", json={"comment": "ok"}, headers=w.headers("fi"))
    assert refused.status_code == 409 and "programme_limit" in refused.text and "supplier_limit" not in refused.text
    book = ok(w.client.get("/financing/book", headers=w.headers("fi")))
    assert book["in_review"] == 1 and book["by_programme"][0]["outstanding"] == "3330.00"
    assert book["by_programme"][0]["usage"] == pytest.approx(0.666)


def test_credit_limit_from_the_suppliers_confirmed_invoices(world):
    """maker sold 100, 300, 200, 200, 100, 300 EUR in the six months before this one (confirmed)
    and 50 EUR disputed; it submitted no forecast (neutral accuracy factor). By hand:
    μ = 200, σ = √(40000/6) = 81.6497, CV = 0.408248, stability = 1 − 0.5·CV = 0.795876,
    dispute rate = 50/1250 = 0.04, dispute factor = 1 − 2·0.04 = 0.92, limit = ⌊200·2·0.795876·0.92⌋."""
    w = world
    p = programme(w)
    first = today().replace(day=1)
    for i, amount in enumerate(("100", "300", "200", "200", "100", "300")):
        month = first
        for _ in range(6 - i):
            month = (month - timedelta(days=1)).replace(day=1)
        issued = (month + timedelta(days=14) - today()).days
        invoice(w, "maker", OWN, f"C-{i}", amount=amount, issued=issued, due=issued + 30)
    disputed = invoice(w, "maker", OWN, "C-D", amount="50", issued=issued, due=issued + 30, confirm=False)
    ok(w.client.post(f"/invoices/{disputed['id']}/dispute", json={"reason": "short"}, headers=w.headers("ana")))
    invoice(w, "maker", OWN, "C-NOW", amount="999", issued=0, due=30)  # this month: not counted
    got = ok(w.client.get(f"/financing-programmes/{p['id']}/suppliers/maker/limit", headers=w.headers("mo")))
    sigma = (sum((v - 200) ** 2 for v in (100, 300, 200, 200, 100, 300)) / 6) ** 0.5
    expected = int(200 * 2 * (1 - 0.5 * sigma / 200) * (1 - 2 * 50 / 1250) * 100)  # in cents, rounded down
    assert expected == 29288  # 40000 × 0.795876 × 0.92 = 29288.2
    assert got["limit"] == "292.88" and got["basis"] == "the credit rule"
    steps = got["credit_rule"]["steps"]
    assert "100.00 EUR, 300.00 EUR, 200.00 EUR, 200.00 EUR, 100.00 EUR, 300.00 EUR" in steps[0]
    assert "CV = 0.4082" in steps[1] and "0.0400" in steps[3] and "submitted no forecast" in steps[4]


def test_programme_from_a_scenario_instrument_converts_period_rates(world):
    w = world
    sid = w.ids["scenario"]["own"]
    body = {"name": "scf", "from_scenario": {"scenario_id": sid, "partner": "maker", "instrument_id": "scf"}}
    p = ok(w.client.post("/financing-programmes", json=body, headers=w.headers("fi")), 201)
    # 0.004 a month × 12 = 0.048 a year; advance 1 (the default), fee 0, buyer wholesale, its limit the programme's
    assert (p["kind"], p["buyer_id"], p["rate"], p["advance_rate"], p["fee_rate"], p["programme_limit"]) == (
        "reverse_factoring", OTHER, "0.048", "1", "0", "40000.00")
    assert "0.004 a period × 12 periods a year" in p["source"]["notes"][0] and p["source"]["version"] == 2
    abl = ok(w.client.post("/financing-programmes", json={"name": "abl", "from_scenario": {
        "scenario_id": sid, "version": 1, "partner": "maker", "instrument_id": "abl"}}, headers=w.headers("adm")), 201)
    assert (abl["kind"], abl["rate"], abl["advance_rate"], abl["max_invoice_age_days"], abl["default_supplier_limit"]) == (
        "receivables_line", "0.072", "0.8", 90, "75000.00")
    bad = w.client.post("/financing-programmes", json={"name": "rcf", "from_scenario": {
        "scenario_id": sid, "partner": "maker", "instrument_id": "rcf"}}, headers=w.headers("fi"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "body.from_scenario.instrument_id"
    both = w.client.post("/financing-programmes", json={**body, "name": "x", "rate": "0.1"}, headers=w.headers("fi"))
    assert both.status_code == 422 and both.json()["detail"][0]["field"] == "body.rate"
    assert w.client.post("/financing-programmes", json={"name": "y", "from_scenario": {
        "scenario_id": 9999, "partner": "maker", "instrument_id": "scf"}}, headers=w.headers("fi")).status_code == 404


@pytest.mark.parametrize("change, field", [
    ({"advance_rate": "0"}, "body.advance_rate"), ({"advance_rate": "1.5"}, "body.advance_rate"),
    ({"rate": "NaN"}, "body.rate"), ({"currency": "EUX"}, "body.currency"), ({"kind": "loan"}, "body.kind"),
    ({"day_count": "30/360"}, "body.day_count"), ({"programme_limit": "1.001"}, "body.programme_limit"),
    ({"kind": "reverse_factoring"}, "body.buyer_id"), ({"buyer_id": "nosuch"}, "body.buyer_id"),
    ({"credit_rule": {"months": 0}}, "body.credit_rule"), ({"credit_rule": {"nosuch": 1}}, "body.credit_rule"),
    ({"min_days_to_due": -1}, "body.min_days_to_due"), ({"extra": 1}, "body.extra"),
])
def test_invalid_programme_fields_are_named(world, change, field):
    body = {"name": "p", "kind": "factoring", "currency": "EUR", "advance_rate": "0.9", "rate": "0.06", **change}
    r = world.client.post("/financing-programmes", json=body, headers=world.headers("fi"))
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json()["detail"]], r.text


def test_invalid_requests_and_other_partners_invoices(world):
    w = world
    p = programme(w)
    mine = invoice(w, "wholesale", "maker", "V-1")
    theirs = invoice(w, "maker", OWN, "V-2")  # maker's: 404 to wholesale exactly as a missing id
    for body, field in (({"programme_id": p["id"], "invoice_ids": []}, "body.invoice_ids"),
                        ({"programme_id": p["id"], "invoice_ids": [mine["id"]] * 2}, "body.invoice_ids"),
                        ({"programme_id": p["id"], "invoice_ids": list(range(1, 102))}, "body.invoice_ids"),
                        ({"programme_id": 0, "invoice_ids": [1]}, "body.programme_id")):
        r = w.client.post("/financing-requests", json=body, headers=w.headers("wil"))
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, r.text
    other = w.client.post("/financing-requests", json={"programme_id": p["id"], "invoice_ids": [mine["id"], theirs["id"]]},
                          headers=w.headers("wil"))
    missing = w.client.post("/financing-requests", json={"programme_id": p["id"], "invoice_ids": [mine["id"], 999999]},
                            headers=w.headers("wil"))
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"].replace(str(theirs["id"]), "N") == missing.json()["detail"].replace("999999", "N")
    # the buyer of an invoice cannot finance it either (it is not its sale)
    assert w.client.post("/financing-requests", json={"programme_id": p["id"], "invoice_ids": [mine["id"]]},
                         headers=w.headers("mo")).status_code == 404
    assert w.client.post("/financing-requests", json={"programme_id": 999, "invoice_ids": [mine["id"]]},
                         headers=w.headers("wil")).status_code == 404
    # nothing was stored by the refused requests
    assert ok(w.client.get("/financing-requests", headers=w.headers("fi")))["total"] == 0


def test_book_shows_exposure_and_overdue_advances_and_limits_need_a_comment(world):
    """The book's overdue advances: time is moved by setting an advanced item's due date to
    yesterday in the database (as if the advance had been made 60 days ago)."""
    import sqlalchemy as sa

    from api.financing.models import FinancingItem

    w = world
    p = programme(w, programme_limit="20000")
    set_limit(w, p["id"], "wholesale", "20000")
    set_limit(w, p["id"], "maker", "20000")
    a = invoice(w, "wholesale", "maker", "B-1")
    b = invoice(w, "maker", OWN, "B-2", amount="1000.00")
    assert request(w, "wholesale", p["id"], [a["id"]])["status"] == "approved"
    assert request(w, "maker", p["id"], [b["id"]])["status"] == "approved"
    with w.session() as s:
        s.execute(sa.update(FinancingItem).where(FinancingItem.invoice_id == a["id"])
                  .values(due_date=today() - timedelta(days=1)))
        s.commit()
    pay(w, b["id"], OWN, "1000.00")  # maker's advance repaid in full: no longer exposure
    book = ok(w.client.get("/financing/book", headers=w.headers("adm")))
    assert book["by_programme"] == [{"key": str(p["id"]), "currency": "EUR", "outstanding": "3330.00", "advances": 1,
                                     "overdue": "3330.00", "limit": "20000.00", "usage": 0.1665}]
    assert [(r["key"], r["outstanding"]) for r in book["by_supplier"]] == [("wholesale", "3330.00")]
    assert [(r["key"], r["overdue"]) for r in book["by_buyer"]] == [("maker", "3330.00")]
    assert [(o["invoice_id"], o["days_overdue"], o["outstanding"]) for o in book["overdue"]] == [(a["id"], 1, "3330.00")]
    for body, field in (({"amount": "1"}, "body.comment"), ({"amount": "1", "comment": " "}, "body.comment"),
                        ({"amount": "-1", "comment": "x"}, "body.amount"), ({"amount": "0.001", "comment": "x"}, "body.amount")):
        r = w.client.put(f"/financing-programmes/{p['id']}/suppliers/maker/limit", json=body, headers=w.headers("fi"))
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, r.text
    assert w.client.put(f"/financing-programmes/{p['id']}/suppliers/nosuch/limit", json={"amount": "1", "comment": "x"},
                        headers=w.headers("fi")).status_code == 404
    assert w.client.get("/financing/book", headers=w.headers("pl")).status_code == 403
