"""Invoices between partners (issue 18, part 1), on SQLite and PostgreSQL: the lifecycle, exact
money, each invalid field named, CSV uploads all or nothing, invoices from a plan's shipments
priced as its cash streams, the hash chain (every stored alteration reported at its first broken
link, through the API and the CLI), and concurrent writers (no fork, no over-payment).

Each guard was broken on purpose once and its test seen failing: the chain's head read after the
invoice instead of before (``ChainWriter`` reading it at the first append): several concurrent
confirmations of one invoice pass, on both databases; the unique ``seq`` left out of the model and
the migration: the same; the open-amount check removed: the over-payment passes (lifecycle,
concurrency); one attempt instead of the retries: concurrent writers get 503; the rows left out of
the verification: every row alteration (status, amounts, a deleted last event) reads as intact;
the ``seq`` gap check removed: a deleted event or invoice is reported as a prev_hash mismatch, not
as the missing events.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from api import invoices as inv_
from api.currencies import format_minor, to_minor
from api.models import Invoice, InvoiceEvent, InvoiceLine
from api_world import OTHER, OWN, invoice_body
from test_api_access_matrix import visibility_world  # noqa: F401 - a fixture

CSV = {"Content-Type": "text/csv"}
HEADER = "number,buyer_id,issue_date,due_date,currency,product,quantity,unit_price\n"


def ok(r, code=200):
    assert r.status_code == code, r.text
    return r.json()


def events_of(w, invoice_id):
    return ok(w.client.get(f"/invoices/{invoice_id}", headers=w.headers("adm")))["events"]


def verify(w):
    return ok(w.client.get("/invoices/verify", headers=w.headers("fi")))


# ----------------------------------------------------------------------------- money


def test_line_amounts_are_exact_and_rounded_half_up():
    eur = lambda q, p: inv_.line_amount(inv_.to_micro(Decimal(q)), inv_.to_micro(Decimal(p)), "EUR")  # noqa: E731
    assert eur("1", "0.005") == 1 and eur("1", "0.004999") == 0  # half a cent up, less down
    assert eur("0.1", "0.2") == 2 and eur("3", "0.1") == 30  # no binary fractions: 3 × 0.1 is 0.30
    for q, p in (("999999999.999999", "999999999.999999"), ("0.000001", "0.000001"), ("12.345678", "0.5"),
                 ("7", "0.125"), ("3", "0.335")):  # the same as Decimal arithmetic, rounded half up, at any size
        exact = (Decimal(q) * Decimal(p) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        assert eur(q, p) == int(exact), (q, p)
    assert inv_.line_amount(3_000_000, 2_500_000, "JPY") == 8  # 7.5 yen → 8
    assert inv_.line_amount(1_000_000, 1_234_500, "KWD") == 1235  # 1.2345 dinar → 1.235 (3 decimals)
    assert format_minor(123450, "EUR") == "1234.50" and format_minor(5, "JPY") == "5" and format_minor(-7, "KWD") == "-0.007"
    assert to_minor(Decimal("12.3"), "EUR") == 1230
    with pytest.raises(ValueError, match="at most 2 decimals"):
        to_minor(Decimal("0.001"), "EUR")
    assert inv_.micro_text(100_000_000) == "100" and inv_.micro_text(1_500_000) == "1.5" and inv_.micro_text(1) == "0.000001"


# ----------------------------------------------------------------------------- the lifecycle


def test_lifecycle_record_confirm_pay_in_parts_settled(world):
    c, w = world.client, world
    body = invoice_body("INV-100", OWN, lines=[{"product": "widget", "quantity": "100", "unit_price": "35.005"},
                                               {"product": "gadget", "quantity": 0.5, "unit_price": 3}])
    first = c.post("/invoices", json=body, headers=w.headers("wil"))
    inv = ok(first, 201)
    assert first.headers["Location"] == f"/invoices/{inv['id']}"
    assert (inv["seller_id"], inv["buyer_id"], inv["status"], inv["total"], inv["open"]) == (OTHER, OWN, "recorded", "3502.00", "3502.00")
    assert ok(c.post("/invoices", json=body, headers=w.headers("wil")))["id"] == inv["id"]  # idempotent: 200, same
    changed = c.post("/invoices", json={**body, "due_date": "2027-04-01", "currency": "USD"}, headers=w.headers("wil"))
    assert changed.status_code == 409 and "due_date, currency differ" in changed.json()["detail"]
    iid = inv["id"]
    # only the buyer decides: the seller gets 403 (it sees the invoice), the buyer confirms once
    assert c.post(f"/invoices/{iid}/confirm", headers=w.headers("wil")).status_code == 403
    assert c.post(f"/invoices/{iid}/settlements", json={"amount": "1", "paid_on": "2027-02-01"},
                  headers=w.headers("ana")).status_code == 409  # not confirmed yet
    assert ok(c.post(f"/invoices/{iid}/confirm", headers=w.headers("ana")))["status"] == "confirmed"
    again = c.post(f"/invoices/{iid}/confirm", headers=w.headers("ana"))
    assert again.status_code == 409 and "only a recorded invoice can be confirmed" in again.json()["detail"]
    assert c.post(f"/invoices/{iid}/dispute", json={"reason": "late"}, headers=w.headers("ana")).status_code == 409
    pay = lambda amount: c.post(f"/invoices/{iid}/settlements", json={"amount": amount, "paid_on": "2027-03-01",  # noqa: E731
                                                                      "reference": "wire"}, headers=w.headers("ana"))
    part = ok(pay("1000.5"), 201)
    assert (part["status"], part["paid"], part["open"]) == ("confirmed", "1000.50", "2501.50")
    over = pay("2501.51")
    assert over.status_code == 409 and "2501.51 EUR is more than the 2501.50 EUR open" in over.json()["detail"]
    done = ok(pay("2501.50"), 201)
    assert (done["status"], done["paid"], done["open"]) == ("settled", "3502.00", "0.00")
    assert pay("0.01").status_code == 409  # nothing can be paid on a settled invoice
    # the lines, exact; the history: one link per change, each pointing at the one before it
    assert [(ln["quantity"], ln["unit_price"], ln["amount"]) for ln in done["lines"]] == [
        ("100", "35.005", "3500.50"), ("0.5", "3", "1.50")]
    events = done["events"]
    assert [e["kind"] for e in events] == ["recorded", "confirmed", "settlement", "settlement"]
    assert [e["payload"].get("settled_minor") for e in events[2:]] == [100050, 350200]
    assert events[0]["payload"]["lines"][0] == {"product": "widget", "quantity": "100", "unit_price": "35.005",
                                                "amount_minor": 350050}
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    report = verify(w)
    assert report["intact"] and report["message"] == f"intact, {report['events']} events", report
    with w.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(InvoiceEvent)) == report["events"] == report["head"]["seq"]
    # the seller's user is shown to staff and the seller, not to the buyer; the buyer's to the seller too
    assert done["created_by"] is None and events[1]["actor"] == "ana"
    seen_by_seller = ok(c.get(f"/invoices/{iid}", headers=w.headers("wil")))
    assert seen_by_seller["created_by"] == "wil" and seen_by_seller["events"][1]["actor"] is None


def test_dispute_needs_a_reason_and_is_final(world):
    c, w = world.client, world
    iid = ok(c.post("/invoices", json=invoice_body("INV-200", OWN), headers=w.headers("wil")), 201)["id"]
    blank = c.post(f"/invoices/{iid}/dispute", json={"reason": "  "}, headers=w.headers("ana"))
    assert blank.status_code == 422 and blank.json()["detail"][0]["field"] == "body.reason"
    assert c.post(f"/invoices/{iid}/dispute", json={"reason": "x"}, headers=w.headers("wil")).status_code == 403
    d = ok(c.post(f"/invoices/{iid}/dispute", json={"reason": "18 gadgets came, not 20"}, headers=w.headers("ana")))
    assert d["status"] == "disputed" and d["events"][-1]["payload"] == {"status": "disputed", "reason": "18 gadgets came, not 20"}
    assert c.post(f"/invoices/{iid}/confirm", headers=w.headers("ana")).status_code == 409
    assert verify(w)["intact"]


def test_lists_filter_and_page(world):
    c, w = world.client, world
    for n in range(3):
        ok(c.post("/invoices", json=invoice_body(f"L-{n}", OWN, due_date=f"2027-03-0{n + 2}"), headers=w.headers("wil")), 201)
    iid = ok(c.get("/invoices", params={"seller_id": OTHER, "buyer_id": OWN}, headers=w.headers("fi")))["items"][0]["id"]
    ok(c.post(f"/invoices/{iid}/confirm", headers=w.headers("ana")))
    page = ok(c.get("/invoices", params={"limit": 2}, headers=w.headers("fi")))
    assert page["total"] == 5 and len(page["items"]) == 2  # the world's two and these three
    mine = ok(c.get("/invoices", headers=w.headers("ana")))
    assert {i["number"] for i in mine["items"]} == {"INV-M-1", "L-0", "L-1", "L-2"} and mine["total"] == 4
    assert [i["id"] for i in ok(c.get("/invoices", params={"status": "confirmed"}, headers=w.headers("ana")))["items"]] == [iid]
    due = ok(c.get("/invoices", params={"due_before": "2027-03-03", "counterparty": OTHER}, headers=w.headers("ana")))
    assert [i["number"] for i in due["items"]] == ["L-0"]
    # a partner asking for a pair it is not part of gets nothing
    assert ok(c.get("/invoices", params={"seller_id": OTHER, "buyer_id": "haul"}, headers=w.headers("ana")))["total"] == 0
    assert ok(c.get("/invoices", params={"seller_id": OTHER, "buyer_id": "haul"}, headers=w.headers("adm")))["total"] == 1
    assert c.get("/invoices", headers=w.headers("pl")).status_code == 403
    bad = c.get("/invoices", params={"due_before": "0"}, headers=w.headers("fi"))
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "query.due_before"


# ----------------------------------------------------------------------------- bad input

BAD = [
    ({"number": ""}, "body.number"),
    ({"number": "x" * 101}, "body.number"),
    ({"number": " INV-1"}, "body.number"),
    ({"buyer_id": "nobody"}, "body.buyer_id"),
    ({"buyer_id": OTHER}, "body.buyer_id"),  # the seller itself
    ({"issue_date": "2027-02-30"}, "body.issue_date"),
    ({"issue_date": 0}, "body.issue_date"),  # not a Unix time
    ({"issue_date": "20270131"}, "body.issue_date"),
    ({"due_date": "2027-01-30"}, "body.due_date"),  # before the issue date
    ({"currency": "eur"}, "body.currency"),
    ({"currency": "XYZ"}, "body.currency"),
    ({"lines": []}, "body.lines"),
    ({"lines": [{"product": "w", "quantity": "1", "unit_price": "1"}] * 1001}, "body.lines"),
    ({"lines": [{"product": "w", "quantity": "0", "unit_price": "1"}]}, "body.lines.0.quantity"),
    ({"lines": [{"product": "w", "quantity": "NaN", "unit_price": "1"}]}, "body.lines.0.quantity"),
    ({"lines": [{"product": "w", "quantity": "1.0000001", "unit_price": "1"}]}, "body.lines.0.quantity"),
    ({"lines": [{"product": "w", "quantity": "1e10", "unit_price": "1"}]}, "body.lines.0.quantity"),
    ({"lines": [{"product": "w", "quantity": "1", "unit_price": "-0.01"}]}, "body.lines.0.unit_price"),
    ({"lines": [{"product": "", "quantity": "1", "unit_price": "1"}]}, "body.lines.0.product"),
    ({"lines": [{"product": "w", "quantity": "1", "unit_price": "0"}]}, "body.lines"),  # a total of 0
    ({"lines": [{"product": "w", "quantity": "999999999", "unit_price": "999999999"}]}, "body.lines.0"),  # > 10^12
    ({"lines": [{"product": "w", "quantity": "1", "unit_price": "1", "amount": "1"}]}, "body.lines.0.amount"),
    ({"seller_id": "maker"}, "body.seller_id"),  # the seller is the caller's partner, never sent
]


@pytest.mark.parametrize("change, field", BAD, ids=[f for _, f in BAD])
def test_each_invalid_field_is_named(visibility_world, change, field):
    world = visibility_world  # one world per database and module: refused input changes nothing
    r = world.client.post("/invoices", json={**invoice_body("INV-BAD", OWN), **change}, headers=world.headers("wil"))
    assert r.status_code == 422, r.text
    fields = [d["field"] for d in r.json()["detail"]]
    assert field in fields, r.json()
    with world.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Invoice)) == 5  # the world's two, three of its financing objects


def test_payment_fields_are_checked(world):
    c, w = world.client, world
    iid = world.ids["invoice"]["own"]
    ok(c.post(f"/invoices/{iid}/confirm", headers=w.headers("ana")))
    for body, field in (({"amount": "1.005", "paid_on": "2027-02-01"}, "body.amount"),  # EUR has 2 decimals
                        ({"amount": "0", "paid_on": "2027-02-01"}, "body.amount"),
                        ({"amount": "1", "paid_on": "2027-01-30"}, "body.paid_on"),  # before the issue date
                        ({"amount": "1"}, "body.paid_on")):
        r = c.post(f"/invoices/{iid}/settlements", json=body, headers=w.headers("ana"))
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, (body, r.text)
    assert ok(c.get(f"/invoices/{iid}", headers=w.headers("ana")))["paid"] == "0.00"


# ----------------------------------------------------------------------------- CSV uploads


def test_upload_records_all_or_nothing_naming_every_bad_row(world):
    c, w = world.client, world
    good = (HEADER + "U-1,shops,2027-01-31,2027-03-02,EUR,widget,100,35\n"
            "U-1,shops,2027-01-31,2027-03-02,EUR,gadget,10,50.5\n"
            "U-2,maker,2027-02-28,2027-03-30,JPY,widget,3,2.5\n")
    bad = good + ("U-3,shops,2027-01-31,2027-01-02,EUR,widget,1,x\n"  # due before issue, price not a number
                  "U-1,maker,2027-01-31,2027-03-02,EUR,widget,,1\n"  # another buyer than U-1's, no quantity
                  "U-4,nobody,2027-01-31,2027-03-02,EUX,widget,1,1\n")  # unknown buyer, not ISO 4217
    r = c.post("/invoices/upload", content=bad, headers=w.headers("wil", **CSV))
    assert r.status_code == 422, r.text
    named = {(d["loc"][2], d["loc"][3] if len(d["loc"]) > 3 else None) for d in r.json()["detail"]}
    assert named == {(4, "due_date"), (4, "unit_price"), (5, "buyer_id"), (5, "quantity"), (6, "buyer_id"),
                     (6, "currency")}, r.json()
    assert "row 4 (line 5)" in r.json()["detail"][0]["msg"]
    with w.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Invoice).where(Invoice.number.like("U-%"))) == 0
    first = ok(c.post("/invoices/upload", content=good, headers=w.headers("wil", **CSV)), 201)
    assert (first["recorded"], first["existing"]) == (2, 0)
    assert [(i["number"], i["total"], i["currency"]) for i in first["invoices"]] == [("U-1", "4005.00", "EUR"),
                                                                                     ("U-2", "8", "JPY")]
    again = ok(c.post("/invoices/upload", content=good, headers=w.headers("wil", **CSV)))
    assert (again["recorded"], again["existing"]) == (0, 2)
    clash = c.post("/invoices/upload", content=good.replace("100,35", "101,35") + "U-5,shops,2027-01-31,2027-03-02,EUR,w,1,1\n",
                   headers=w.headers("wil", **CSV))
    assert clash.status_code == 409 and "'U-1'" in clash.json()["detail"] and "lines, total_minor differ" in clash.json()["detail"]
    with w.session() as s:
        assert s.scalar(sa.select(Invoice.id).where(Invoice.number == "U-5")) is None
    template = c.get("/invoices/upload", headers=w.headers("ana"))  # the format, to fill in
    assert template.headers["content-type"].startswith("text/csv") and template.text.startswith(HEADER)
    assert ok(c.post("/invoices/upload", content=template.text, headers=w.headers("ana", **CSV)), 201)["recorded"] == 1
    missing = c.post("/invoices/upload", content="number,buyer_id\nU-9,shops\n", headers=w.headers("wil", **CSV))
    assert missing.status_code == 422 and "body.currency" in {d["field"] for d in missing.json()["detail"]}
    assert c.post("/invoices/upload", json={"rows": []}, headers=w.headers("wil")).status_code == 415
    assert verify(w)["intact"]


# ----------------------------------------------------------------------------- from a plan


@pytest.fixture
def plan_world(migrated_db_url, example_plan_result):
    """The world with a done plan (of the bundled small chain), on SQLite and PostgreSQL."""
    from api_world import build_world

    w = build_world(migrated_db_url, example_plan_result)
    w.plan_result = example_plan_result
    yield w
    w.client.close()
    w.engine.dispose()


def test_plan_invoices_price_shipments_as_the_cash_streams(plan_world):
    w = plan_world
    c, plan_id = w.client, w.ids["plan"]["own"]
    r = ok(c.post(f"/plans/{plan_id}/invoices", json={}, headers=w.headers("wil")), 201)
    assert r["recorded"] == len(r["invoices"]) > 0 and r["existing"] == 0
    # the invoices of each buyer and period sum to the plan's transfer revenue of that pair and period
    flows: dict[tuple[str, int], float] = {}
    settled: dict[tuple[str, int], int] = {}
    for f in w.plan_result["plan"]["tables"]["cash_flows"]:
        if f["kind"] == "transfer_revenue" and f["partner"] == OTHER:
            key = (f["counterparty"], f["period_incurred"])
            flows[key] = flows.get(key, 0.0) + f["amount"]
            settled[key] = f["period_settled"] - f["period_incurred"]
    with w.session() as s:
        from api.models import ScenarioVersion, PlanRecord
        from scenarios.io import parse_scenario

        scenario, _ = parse_scenario(s.get(ScenarioVersion, s.get(PlanRecord, plan_id).scenario_version_id).content)
    got = {}
    for i in r["invoices"]:
        t = next(t for t in range(scenario.time.periods) if inv_.period_start(scenario, t).isoformat() == i["issue_date"])
        got[(i["buyer_id"], t)] = float(i["total"])
        assert i["number"] == f"PLAN{plan_id}-{i['buyer_id']}-{i['issue_date']}"
        assert i["due_date"] == inv_.period_start(scenario, t + settled[(i["buyer_id"], t)]).isoformat()
        assert (i["source"], i["plan_id"], i["status"]) == ("plan", plan_id, "recorded")
    assert set(got) == {k for k, v in flows.items() if round(v, 2) > 0}
    for key, amount in got.items():
        assert amount == pytest.approx(flows[key], abs=0.01 * 4), key  # a cent of rounding per line at most
    # again: the same invoices; a subset of periods: those periods' invoices, already there
    again = ok(c.post(f"/plans/{plan_id}/invoices", json={}, headers=w.headers("wil")))
    assert (again["recorded"], again["existing"]) == (0, r["recorded"])
    two = ok(c.post(f"/plans/{plan_id}/invoices", json={"periods": [0, 1]}, headers=w.headers("wil")))
    assert {i["id"] for i in two["invoices"]} == {i["id"] for i in r["invoices"] if i["issue_date"] in
                                                  {inv_.period_start(scenario, t).isoformat() for t in (0, 1)}}
    outside = c.post(f"/plans/{plan_id}/invoices", json={"periods": [0, scenario.time.periods]}, headers=w.headers("wil"))
    assert outside.status_code == 422 and outside.json()["detail"][0]["field"] == "body.periods.1"
    assert c.post(f"/plans/{plan_id}/invoices", json={"periods": [False]}, headers=w.headers("wil")).status_code == 422
    # a retailer sells to no partner: nothing; the buyer sees them; staff may not draft
    assert ok(c.post(f"/plans/{plan_id}/invoices", json={}, headers=w.headers("ana")))["invoices"] == []
    assert ok(c.get("/invoices", params={"seller_id": OTHER}, headers=w.headers("ana")))["total"] == r["recorded"]
    assert c.post(f"/plans/{plan_id}/invoices", json={}, headers=w.headers("pl")).status_code == 403
    assert verify(w)["intact"]


def test_plan_without_a_result_is_absent_to_partners(plan_world):
    from api.models import PlanRecord, ScenarioVersion

    w = plan_world
    with w.session() as s:
        plan = PlanRecord(scenario_version_id=s.scalar(sa.select(ScenarioVersion.id).limit(1)), options={},
                          options_hash="q" * 64, status="queued", created_by_id=w.user_ids["pl"])
        s.add(plan)
        s.commit()
        queued = plan.id
    for pid in (queued, 999_999):
        r = w.client.post(f"/plans/{pid}/invoices", json={}, headers=w.headers("wil"))
        assert r.status_code == 404 and r.json()["detail"] == f"plan {pid} not found"


# ----------------------------------------------------------------------------- the hash chain


def _history(w) -> dict[str, int]:
    """After the world's two invoices (seq 1, 2): A recorded, confirmed, paid in two parts (seq
    3-6); B recorded and disputed (7, 8); C recorded and confirmed (9, 10); D recorded (11)."""
    c = w.client
    ids = {}
    ids["A"] = ok(c.post("/invoices", json=invoice_body("A", OWN), headers=w.headers("mo")), 201)["id"]
    ok(c.post(f"/invoices/{ids['A']}/confirm", headers=w.headers("ana")))
    for amount in ("1000", "2700"):
        ok(c.post(f"/invoices/{ids['A']}/settlements", json={"amount": amount, "paid_on": "2027-02-01"},
                  headers=w.headers("ana")), 201)
    ids["B"] = ok(c.post("/invoices", json=invoice_body("B", OWN), headers=w.headers("wil")), 201)["id"]
    ok(c.post(f"/invoices/{ids['B']}/dispute", json={"reason": "wrong price"}, headers=w.headers("ana")))
    ids["C"] = ok(c.post("/invoices", json=invoice_body("C", OTHER), headers=w.headers("mo")), 201)["id"]
    ok(c.post(f"/invoices/{ids['C']}/confirm", headers=w.headers("wil")))
    ids["D"] = ok(c.post("/invoices", json=invoice_body("D", "haul"), headers=w.headers("wil")), 201)["id"]
    with w.session() as s:
        seqs = s.scalars(sa.select(InvoiceEvent.seq).order_by(InvoiceEvent.seq)).all()
    assert seqs == list(range(1, 12)), seqs
    return ids


def _event_id(w, seq):
    with w.session() as s:
        return s.scalar(sa.select(InvoiceEvent.id).where(InvoiceEvent.seq == seq))


def _sql(w, *statements):
    with w.engine.begin() as conn:
        for st in statements:
            conn.execute(st)


EV, LN, INV = InvoiceEvent.__table__, InvoiceLine.__table__, Invoice.__table__


def _tamper_payment_amount(w, ids):
    _sql(w, sa.update(EV).where(EV.c.seq == 5).values(
        payload={"amount_minor": 1, "paid_on": "2027-02-01", "reference": "", "settled_minor": 100000, "status": "confirmed"}))
    return 5, ids["A"], "changed after it was written"


def _tamper_recorded_total(w, ids):
    with w.session() as s:
        payload = dict(s.scalar(sa.select(EV.c.payload).where(EV.c.seq == 9)))
    _sql(w, sa.update(EV).where(EV.c.seq == 9).values(payload={**payload, "total_minor": 1}))
    return 9, ids["C"], "its payload's total_minor differ from the invoice row"


def _tamper_rehashed_event(w, ids):
    """The payload changed and its hash recomputed: the next link no longer points at it."""
    with w.session() as s:
        ev = s.scalar(sa.select(InvoiceEvent).where(InvoiceEvent.seq == 8))
        payload = {"status": "disputed", "reason": "no reason"}
        digest = inv_.event_hash(prev_hash=ev.prev_hash, seq=8, invoice_id=ev.invoice_id, kind=ev.kind,
                                 actor_user_id=ev.actor_user_id, actor_partner_id=ev.actor_partner_id, at=ev.at,
                                 payload=payload)
    _sql(w, sa.update(EV).where(EV.c.seq == 8).values(payload=payload, hash=digest))
    return 9, ids["C"], "is not the hash"


def _tamper_line_amount(w, ids):
    _sql(w, sa.update(LN).where(LN.c.invoice_id == ids["C"], LN.c.position == 2).values(amount_minor=1))
    return 10, ids["C"], "invoice_lines position 2 amount_minor is 1, recorded 50000"


def _tamper_invoice_total(w, ids):
    _sql(w, sa.update(INV).where(INV.c.id == ids["B"]).values(total_minor=99))
    return 8, ids["B"], "invoices.total_minor is 99, recorded 370000"


def _tamper_status(w, ids):
    _sql(w, sa.update(INV).where(INV.c.id == ids["C"]).values(status="settled"))
    return 10, ids["C"], "invoices.status is 'settled' but its events leave it at 'confirmed'"


def _tamper_settled(w, ids):
    _sql(w, sa.update(INV).where(INV.c.id == ids["A"]).values(settled_minor=0, status="confirmed"))
    return 6, ids["A"], "invoices.status is 'confirmed' but its events leave it at 'settled'"


def _tamper_delete_event(w, ids):
    _sql(w, sa.delete(EV).where(EV.c.seq == 5))
    return 6, ids["A"], "event(s) seq 5 missing: this event follows seq 4"


def _tamper_delete_invoice(w, ids):
    _sql(w, sa.delete(EV).where(EV.c.invoice_id == ids["B"]), sa.delete(LN).where(LN.c.invoice_id == ids["B"]),
         sa.delete(INV).where(INV.c.id == ids["B"]))
    return 9, ids["C"], "event(s) seq 7..8 missing: this event follows seq 6"


def _tamper_delete_last_event(w, ids):
    _sql(w, sa.delete(EV).where(EV.c.seq == 11))
    return None, ids["D"], "has no 'recorded' event in the chain"


TAMPERS = [_tamper_payment_amount, _tamper_recorded_total, _tamper_rehashed_event, _tamper_line_amount,
           _tamper_invoice_total, _tamper_status, _tamper_settled, _tamper_delete_event, _tamper_delete_invoice,
           _tamper_delete_last_event]


@pytest.mark.parametrize("tamper", TAMPERS, ids=[t.__name__.removeprefix("_tamper_") for t in TAMPERS])
def test_verify_reports_the_first_broken_link(world, tamper):
    ids = _history(world)
    before = verify(world)
    assert before["intact"] and before["message"] == "intact, 11 events" and before["invoices"] == 6
    seq, invoice_id, what = tamper(world, ids)
    report = verify(world)
    brk = report["first_break"]
    assert not report["intact"] and brk is not None, report
    assert (brk["seq"], brk["invoice_id"]) == (seq, invoice_id), report
    assert what in brk["what"], report
    if seq is not None:
        assert brk["event_id"] == _event_id(world, seq)
    assert report["message"].startswith("broken at ") and what in report["message"]


def test_cli_verify_exit_codes_and_anchor(world):
    from jointplan.cli import app

    ids = _history(world)
    run = CliRunner().invoke
    r = run(app, ["invoices", "verify", "--database-url", world.url])
    assert r.exit_code == 0 and "intact, 11 events" in r.output, r.output
    head = verify(world)["head"]
    anchor = f"{head['seq']}:{head['hash']}"
    assert run(app, ["invoices", "verify", "--database", world.url, "--anchor", anchor]).exit_code == 0
    # D removed whole from the chain's end: intact on its own, caught by the head noted before
    _sql(world, sa.delete(EV).where(EV.c.invoice_id == ids["D"]), sa.delete(LN).where(LN.c.invoice_id == ids["D"]),
         sa.delete(INV).where(INV.c.id == ids["D"]))
    assert run(app, ["invoices", "verify", "--database-url", world.url]).exit_code == 0
    r = run(app, ["invoices", "verify", "--database-url", world.url, "--anchor", anchor, "--json"])
    assert r.exit_code == 1, r.output
    body = json.loads(r.output)
    assert not body["intact"] and "before the anchor seq 11" in body["first_break"]["what"]
    _tamper_status(world, ids)
    r = run(app, ["invoices", "verify", "--database-url", world.url])
    assert r.exit_code == 1 and f"invoice {ids['C']}" in r.output and "'settled'" in r.output, r.output
    assert run(app, ["invoices", "verify", "--anchor", "12:nothex", "--database-url", world.url]).exit_code == 2


def test_cli_verify_refuses_a_database_without_invoices(tmp_path):
    from jointplan.cli import app

    r = CliRunner().invoke(app, ["invoices", "verify", "--database-url", f"sqlite:///{tmp_path / 'none.db'}"])
    assert r.exit_code == 2 and "no database file" in r.output
    assert not (tmp_path / "none.db").exists()


# ----------------------------------------------------------------------------- concurrent writers


def test_concurrent_writers_neither_fork_the_chain_nor_overpay(world):
    import httpx

    from api_world import make_app
    from test_api_resources import LiveServer, concurrently

    c, w = world.client, world
    one = ok(c.post("/invoices", json=invoice_body("K-1", OWN), headers=w.headers("wil")), 201)["id"]
    many = [ok(c.post("/invoices", json=invoice_body(f"K-M{i}", OWN), headers=w.headers("mo")), 201)["id"] for i in range(6)]
    with LiveServer(make_app(w.url, w.engine)) as base:
        def post(path, body=None):
            return httpx.post(f"{base}{path}", json=body, headers=w.headers("ana"), timeout=60).status_code

        same = concurrently(6, lambda i: post(f"/invoices/{one}/confirm"))
        assert sorted(same) == [200] + [409] * 5, same
        # 6 payments of 1,000.00 on 3,700.00: three pass, three would over-pay
        paid = concurrently(6, lambda i: post(f"/invoices/{one}/settlements", {"amount": "1000", "paid_on": "2027-02-01"}))
        assert sorted(paid) == [201] * 3 + [409] * 3, paid
        # different invoices at once: every confirmation passes, one after the other in the chain
        assert concurrently(6, lambda i: post(f"/invoices/{many[i]}/confirm")) == [200] * 6
        # the same new invoice sent 4 times at once: recorded once
        record = lambda i: httpx.post(f"{base}/invoices", json=invoice_body("K-NEW", OWN), headers=w.headers("wil"),  # noqa: E731
                                      timeout=60).status_code
        assert sorted(concurrently(4, record)) == [200] * 3 + [201]
    detail = ok(c.get(f"/invoices/{one}", headers=w.headers("ana")))
    assert (detail["paid"], detail["status"]) == ("3000.00", "confirmed")
    assert [e["kind"] for e in detail["events"]] == ["recorded", "confirmed"] + ["settlement"] * 3
    report = verify(w)
    assert report["intact"], report
    with w.session() as s:
        seqs = s.scalars(sa.select(InvoiceEvent.seq).order_by(InvoiceEvent.seq)).all()
        assert seqs == list(range(1, len(seqs) + 1))
        assert s.scalar(sa.select(sa.func.count()).select_from(Invoice).where(Invoice.number == "K-NEW")) == 1
