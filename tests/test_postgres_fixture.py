"""The rule of the ``postgres_server`` fixture (``tests/db_fixtures.py``, used by ``conftest.py``): when
``JOINTPLAN_TEST_POSTGRES_URL`` is set (CI sets it) and no server answers there, the PostgreSQL
variants of the database tests FAIL (error), they do not skip; when it is unset and the default
local server does not answer, they skip with the reason.

Each case runs pytest in a subprocess on a one-test module using ``db_url`` (the SQLite and the
PostgreSQL variant), with the URL pointing at a closed port.

Checked by breaking it: with ``pytest.skip`` instead of ``pytest.fail`` on the explicit-URL branch
of ``postgres_server``, ``test_set_url_and_no_server_fails`` fails (1 skipped, 0 errors); with
``pytest.fail`` on both branches, ``test_unset_url_and_no_default_server_skips`` fails.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

CONFTEST = f"""
import importlib.util, os, sys
sys.path.insert(0, {str(TESTS)!r})
spec = importlib.util.spec_from_file_location("jointplan_db_fixtures", {str(TESTS / "db_fixtures.py")!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
mod.DEFAULT_POSTGRES_URL = os.environ["FAKE_DEFAULT_POSTGRES_URL"]  # the 'local default' of this run
postgres_server = mod.postgres_server
db_url = mod.db_url
"""

TEST = """
def test_database(db_url):
    assert db_url
"""


def closed_port_url() -> str:
    with socket.socket() as s:  # a port nothing listens on (bound, then released)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"


def run_pytest(tmp_path: Path, env_url: str | None) -> tuple[dict[str, int], str]:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_db.py").write_text(TEST)
    env = {k: v for k, v in os.environ.items() if k not in ("JOINTPLAN_TEST_POSTGRES_URL", "PYTEST_ADDOPTS")}
    env["FAKE_DEFAULT_POSTGRES_URL"] = closed_port_url()
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no hypothesis/schemathesis/fugue plugins: seconds, not tens
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if env_url is not None:
        env["JOINTPLAN_TEST_POSTGRES_URL"] = env_url
    out = subprocess.run([sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider",
                          "--rootdir", str(tmp_path), str(tmp_path / "test_db.py")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?|skipped)", text.splitlines()[-1])}
    counts["error"] = counts.pop("errors", 0) + counts.pop("error", 0)
    return counts, text


def test_set_url_and_no_server_fails(tmp_path):
    url = closed_port_url()
    counts, text = run_pytest(tmp_path, url)
    assert counts.get("skipped", 0) == 0, text
    assert counts.get("passed") == 1 and counts["error"] + counts.get("failed", 0) == 1, text  # sqlite passes, postgresql errors
    assert "PostgreSQL unreachable at" in text and "JOINTPLAN_TEST_POSTGRES_URL asks for it" in text, text


def test_unset_url_and_no_default_server_skips(tmp_path):
    counts, text = run_pytest(tmp_path, None)
    assert counts.get("passed") == 1 and counts.get("skipped") == 1, text
    assert counts["error"] == 0 and counts.get("failed", 0) == 0, text
    assert "PostgreSQL unreachable at the default" in text, text
