"""Property-based API testing: schemathesis generates requests from the app's OpenAPI schema
(fixed seed) and runs all its checks: no server errors, status codes, content types, headers and
bodies as documented, invalid input refused, auth not ignored...

Positive (schema-valid) requests may still be refused with 400/412/415/422/428: the schema cannot
express every rule (a scenario's internal consistency, a CSV's columns, If-Match freshness), so
those statuses are added to the positive-data-acceptance check's expected ones.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
import sqlalchemy as sa
from schemathesis.config import SchemathesisConfig

from api.app import create_app
from api.models import ApiToken, User
from api.settings import Settings
from api.security import hash_token, new_token

SEED = 20270105
CONFIG = """
seed = {seed}
[generation]
max-examples = {examples}
[phases.coverage]
enabled = {coverage}
[auth.openapi.HTTPBearer]
bearer = "{token}"
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "412", "415", "422", "428", "429"]
"""


_DIR = tempfile.TemporaryDirectory(prefix="jointplan-st-")
URL = f"sqlite:///{Path(_DIR.name) / 'world.db'}"
APP = create_app(Settings(database_url=URL))  # its own app: the database is filled by the fixture below


# one known token per calling user, added to the world's users by the fixture (the auth schemathesis sends)
CALLERS = ("adm", "pl", "fi", "ana")
STATUSES: list[tuple[bool, int]] = []  # (positive case?, status) of every call: the last test checks the auth
TOKENS = {name: new_token() for name in CALLERS}


def _schema(caller: str, examples: int, coverage: bool):
    config = SchemathesisConfig.from_str(CONFIG.format(seed=SEED, examples=examples, coverage=str(coverage).lower(),
                                                       token=TOKENS[caller]))
    return schemathesis.openapi.from_asgi("/openapi.json", APP, config=config)


# default run: documented examples + a few generated cases; slow run: also the coverage phase
# (boundary and invalid values), for every role
small = {c: _schema(c, examples=5, coverage=False) for c in ("adm", "ana")}
large = {c: _schema(c, examples=25, coverage=True) for c in CALLERS}


@pytest.fixture(scope="module")
def st_world(example_plan_result):
    """The populated world in the app's database."""
    from api.migrate import upgrade
    from api_world import build_world

    upgrade(URL)
    world = build_world(URL, example_plan_result)
    with world.session() as session:
        for name, token in TOKENS.items():
            session.add(ApiToken(user_id=world.user_ids[name], token_hash=hash_token(token)))
        session.commit()
    world.tokens.update(TOKENS)
    yield world
    world.engine.dispose()
    APP.state.engine.dispose()


def _restore_caller(world, name: str) -> None:
    """Generated calls may disable the calling user: enable it and its token again."""
    with world.session() as s:
        s.execute(sa.update(User).where(User.name == name).values(disabled=False))
        s.execute(sa.update(ApiToken).where(ApiToken.token_hash == hash_token(world.tokens[name])).values(revoked_at=None))
        s.commit()


def _check(case, world, name: str) -> None:
    try:
        response = case.call_and_validate()
        positive = case.meta is not None and case.meta.generation.mode.is_positive
        STATUSES.append((positive, response.status_code))
        assert not (positive and response.status_code == 401), f"schema-valid call refused the caller's token: {response.text}"
    finally:
        _restore_caller(world, name)


@small["adm"].parametrize()
def test_api_conforms_to_its_schema_as_admin(case, st_world):
    _check(case, st_world, "adm")


@small["ana"].parametrize()
def test_api_conforms_to_its_schema_as_partner(case, st_world):
    _check(case, st_world, "ana")


@pytest.mark.slow
@large["adm"].parametrize()
def test_api_thoroughly_as_admin(case, st_world):
    _check(case, st_world, "adm")


@pytest.mark.slow
@large["pl"].parametrize()
def test_api_thoroughly_as_planner(case, st_world):
    _check(case, st_world, "pl")


@pytest.mark.slow
@large["fi"].parametrize()
def test_api_thoroughly_as_finance(case, st_world):
    _check(case, st_world, "fi")


@pytest.mark.slow
@large["ana"].parametrize()
def test_api_thoroughly_as_partner(case, st_world):
    _check(case, st_world, "ana")


def test_generated_calls_were_authenticated(st_world):
    """Runs after the tests above (same module): schema-valid calls carried a working token."""
    positive = [code for is_positive, code in STATUSES if is_positive]
    if not positive:
        pytest.skip("the schemathesis tests did not run in this process")
    assert 401 not in positive
    assert sum(200 <= c < 300 for c in positive) > len(positive) // 4, positive
