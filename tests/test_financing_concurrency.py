"""Concurrent financing decisions against a served app (uvicorn in a thread, real parallel HTTP
requests), on SQLite and PostgreSQL: requests on the same invoice, or that together exceed the
supplier's limit, never both pass; nor do two approvals by finance that together exceed it.

Broken on purpose once: ``decisions.lock_programme`` made a plain read (no ``FOR UPDATE``, no
write first): on both databases two of the six limit-exceeding requests were approved.
"""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from api.financing.models import FinancingItem
from financing_helpers import invoice, ok, programme, set_limit


def test_concurrent_requests_never_both_pass(world):
    from api_world import make_app
    from test_api_resources import LiveServer, concurrently

    w = world
    p = programme(w)
    set_limit(w, p["id"], "wholesale", "5000")  # one advance of 3330.00 fits, two do not
    one = invoice(w, "wholesale", "maker", "K-1")
    many = [invoice(w, "wholesale", "maker", f"K-M{i}")["id"] for i in range(6)]
    with LiveServer(make_app(w.url, w.engine)) as base:
        def post(ids):
            r = httpx.post(f"{base}/financing-requests", json={"programme_id": p["id"], "invoice_ids": ids},
                           headers=w.headers("wil"), timeout=60)
            assert r.status_code == 201, r.text
            return r.json()

        same = concurrently(6, lambda i: post([one["id"]]))
        assert sorted(r["status"] for r in same) == ["approved"] + ["in_review"] * 5, [r["status"] for r in same]
        held = [r for r in same if r["status"] == "in_review"]
        assert all(not c["passed"] for r in held for c in r["checks"] if c["rule"] == "not_financed")
        # 3330.00 is drawn: another 3330.00 would pass 5000.00, so all six go to review
        over = concurrently(6, lambda i: post([many[i]]))
        assert [r["status"] for r in over] == ["in_review"] * 6
        set_limit(w, p["id"], "wholesale", "8000")  # exactly one more fits: 6660 ≤ 8000 < 9990
        more = [invoice(w, "wholesale", "maker", f"K-N{i}")["id"] for i in range(6)]
        again = concurrently(6, lambda i: post([more[i]]))
        assert sorted(r["status"] for r in again) == ["approved"] + ["in_review"] * 5, [r["status"] for r in again]
        # finance approves two requests in review at once with room for one: 9990 ≤ 12000 < 13320
        set_limit(w, p["id"], "wholesale", "12000")
        waiting = [r["id"] for r in over[:2]]
        approve = lambda i: httpx.post(f"{base}/financing-requests/{waiting[i]}/approve",  # noqa: E731
                                       json={"comment": "ok"}, headers=w.headers("fi"), timeout=60).status_code
        assert sorted(concurrently(2, approve)) == [200, 409]
    with w.session() as s:
        advanced = s.execute(sa.select(FinancingItem.invoice_id, FinancingItem.advance_minor)
                             .where(FinancingItem.status == "advanced")).all()
    assert len(advanced) == 3 and len({i for i, _ in advanced}) == 3
    assert sum(a for _, a in advanced) == 3 * 333000 <= 1200000
    limit = ok(w.client.get(f"/financing-programmes/{p['id']}/suppliers/wholesale/limit", headers=w.headers("fi")))
    assert limit["drawn"] == "9990.00"


def test_payments_and_decisions_on_a_financed_invoice_at_once(world):
    """The buyer's payments of a financed invoice (each repays the advance, writing ledger rows
    that reference the programme) while the supplier's requests name that invoice (each decision
    locks the programme, then the invoice): every call answers (no deadlock, no 500), the
    requests all go to review (the invoice is held), and the advance is repaid exactly once.
    Seen failing on PostgreSQL with the locks taken ``FOR UPDATE`` instead of ``FOR NO KEY
    UPDATE``: in three runs out of three one or two calls answered 500 (deadlock detected: the
    payment held the invoice and waited for ``KEY SHARE`` on the programme for its ledger rows,
    the decision held the programme and waited for the invoice)."""
    from api_world import make_app
    from test_api_resources import LiveServer, concurrently

    w = world
    p = programme(w)
    set_limit(w, p["id"], "wholesale", "50000")
    inv = invoice(w, "wholesale", "maker", "P-1", amount="3700.00")
    assert ok(w.client.post("/financing-requests", json={"programme_id": p["id"], "invoice_ids": [inv["id"]]},
                            headers=w.headers("wil")), 201)["status"] == "approved"
    others = [invoice(w, "wholesale", "maker", f"P-O{i}")["id"] for i in range(4)]
    with LiveServer(make_app(w.url, w.engine)) as base:
        def call(i):
            if i % 2:
                return httpx.post(f"{base}/invoices/{inv['id']}/settlements", json={"amount": "370", "paid_on": "2030-01-01"},
                                  headers=w.headers("mo"), timeout=60).status_code
            return httpx.post(f"{base}/financing-requests", json={"programme_id": p["id"],
                                                                 "invoice_ids": [others[i // 2], inv["id"]]},
                              headers=w.headers("wil"), timeout=60).status_code

        assert sorted(concurrently(8, call)) == [201] * 8
    with w.session() as s:
        item = s.scalars(sa.select(FinancingItem).where(FinancingItem.claim_invoice_id == inv["id"])).one()
    assert (item.status, item.repaid_minor) == ("advanced", 4 * 37000)
