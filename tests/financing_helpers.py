"""Helpers of the financing tests: invoices confirmed by their buyer, programmes, requests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from api.models import utcnow

BUYER_USER = {"shops": "ana", "wholesale": "wil", "maker": "mo"}
SELLER_USER = BUYER_USER


def today() -> date:
    return utcnow().date()


def day(offset: int) -> str:
    return (today() + timedelta(days=offset)).isoformat()


def ok(r, code=200):
    assert r.status_code == code, r.text
    return r.json()


def invoice(w, seller: str, buyer: str, number: str, amount: str = "3700.00", issued: int = -10, due: int = 60,
            confirm: bool = True, currency: str = "EUR") -> dict[str, Any]:
    """An invoice of one line (quantity 1 at ``amount``) issued ``issued`` days from today, due
    ``due`` days from today, confirmed by its buyer's user."""
    body = {"number": number, "buyer_id": buyer, "issue_date": day(issued), "due_date": day(due), "currency": currency,
            "lines": [{"product": "widget", "quantity": "1", "unit_price": amount}]}
    inv = ok(w.client.post("/invoices", json=body, headers=w.headers(SELLER_USER[seller])), 201)
    if confirm:
        inv = ok(w.client.post(f"/invoices/{inv['id']}/confirm", headers=w.headers(BUYER_USER[buyer])))
    return inv


def programme(w, **changes: Any) -> dict[str, Any]:
    body = {"name": "factoring", "kind": "factoring", "currency": "EUR", "advance_rate": "0.9", "rate": "0.06",
            "day_count": "actual/360", "fee_rate": "0.002", **changes}
    return ok(w.client.post("/financing-programmes", json=body, headers=w.headers("fi")), 201)


def set_limit(w, programme_id: int, partner: str, amount: str, comment: str = "reviewed") -> dict[str, Any]:
    return ok(w.client.put(f"/financing-programmes/{programme_id}/suppliers/{partner}/limit",
                           json={"amount": amount, "comment": comment}, headers=w.headers("fi")))


def request(w, seller: str, programme_id: int, invoice_ids: list[int], code: int = 201):
    r = w.client.post("/financing-requests", json={"programme_id": programme_id, "invoice_ids": invoice_ids},
                      headers=w.headers(SELLER_USER[seller]))
    return ok(r, code) if code else r


def pay(w, invoice_id: int, buyer: str, amount: str, paid_on: int = 0):
    return ok(w.client.post(f"/invoices/{invoice_id}/settlements", json={"amount": amount, "paid_on": day(paid_on)},
                            headers=w.headers(BUYER_USER[buyer])), 201)
