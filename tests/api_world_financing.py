"""Financing objects of the access-matrix and visibility worlds (tests/api_world.py builds the
rest): programme 1 open to every partner, programme 2 only for invoices owed by haul (visible to
wholesale, which invoiced haul, not to shops); an approved request of shops and one of wholesale,
each on an invoice to maker; and invoice 5 (shops to maker, confirmed, not requested), the one
the documented example of ``POST /financing-requests`` names."""

from __future__ import annotations

from api_world import OTHER, OWN
from financing_helpers import invoice, programme, request, set_limit


def add_objects(w) -> None:
    first = programme(w, name="open factoring")
    second = programme(w, name="haul only", buyer_id="haul")
    assert first["id"] == 1, first  # the documented example's programme
    for partner in (OWN, OTHER):
        set_limit(w, first["id"], partner, "100000")
    own_inv = invoice(w, OWN, "maker", "FIN-S-1")
    other_inv = invoice(w, OTHER, "maker", "FIN-W-1")
    example = invoice(w, OWN, "maker", "FIN-S-2")
    assert example["id"] == 5, example  # the documented example's invoice
    own_req = request(w, OWN, first["id"], [own_inv["id"]])
    other_req = request(w, OTHER, first["id"], [other_inv["id"]])
    assert own_req["status"] == other_req["status"] == "approved", (own_req, other_req)
    w.ids["programme"] = {"own": first["id"], "other": second["id"]}
    w.ids["financing_request"] = {"own": own_req["id"], "other": other_req["id"]}
