"""The slow suite's schemathesis run: examples, generated cases and the coverage phase (boundary
and invalid values) for every role, with the checks of ``test_api_schemathesis.py``.

Runs on PostgreSQL only (the ``st_world`` fixture's SQLite parameter is left out here). Kept in
its own module because schemathesis builds the coverage cases while collecting: the
default run (``-m 'not slow'``) does not collect this file at all (``conftest.pytest_ignore_collect``).
"""

from __future__ import annotations

import pytest

from test_api_schemathesis import CALLERS, _check, _schema, check_calls_authenticated, st_world  # noqa: F401 - fixture

# On PostgreSQL only (the production database, where strings, integers and locks are strictest):
# the default run's schemathesis module covers SQLite with fewer examples, and the SQLite variant
# of this one doubled the slow suite's longest part (288 s of test time against 534 s).
pytestmark = pytest.mark.slow
on_postgresql = pytest.mark.parametrize("st_world", ["postgresql"], indirect=True)

large = {c: _schema(c, examples=25, coverage=True) for c in CALLERS}


@large["adm"].parametrize()
@on_postgresql
def test_api_thoroughly_as_admin(case, st_world):
    _check(case, st_world, "adm")


@large["pl"].parametrize()
@on_postgresql
def test_api_thoroughly_as_planner(case, st_world):
    _check(case, st_world, "pl")


@large["fi"].parametrize()
@on_postgresql
def test_api_thoroughly_as_finance(case, st_world):
    _check(case, st_world, "fi")


@large["ana"].parametrize()
@on_postgresql
def test_api_thoroughly_as_partner(case, st_world):
    _check(case, st_world, "ana")


def test_thorough_calls_were_authenticated():
    """Runs after the tests above (same module)."""
    check_calls_authenticated()
