"""Text fields refuse NUL characters (PostgreSQL cannot store them: a 500 there, not a 422).

Found by the slow schemathesis coverage run on PostgreSQL: ``ShortText``'s pattern
``^[^\\x00]*\\S[^\\x00]*$`` let one NUL through (``\\S`` matches NUL), so ``POST /partners`` with
such a name failed with a 500 on PostgreSQL. Checked by breaking it: with that old pattern back
in ``api/schemas.py`` (and ``api/routes/reviews.py``), both tests fail (201 and a server error).
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.db import make_engine
from api_world import make_app, seed_users


@pytest.fixture
def service(migrated_db_url):
    engine = make_engine(migrated_db_url)
    tokens, _ = seed_users(engine)
    with TestClient(make_app(migrated_db_url, engine), raise_server_exceptions=False) as client:
        yield client, tokens
    engine.dispose()


@pytest.mark.parametrize("name", ["a\x00", "\x00b", "a\x00b"])
def test_a_name_with_a_nul_is_refused(service, name):
    client, tokens = service
    r = client.post("/partners", json={"id": "newco", "name": name, "role": "retailer"},
                    headers={"Authorization": f"Bearer {tokens['adm']}"})
    assert r.status_code == 422, r.text


def test_a_review_comment_with_a_nul_is_refused(service):
    client, tokens = service
    r = client.post("/plans/1/reviews", json={"decision": "approve", "comment": "fine\x00"},
                    headers={"Authorization": f"Bearer {tokens['fi']}"})
    assert r.status_code == 422, r.text
