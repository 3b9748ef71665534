"""``jointplan serve --workers 2``: several processes serve one SQLite database.

Deliberate errors this test catches (each was put in once and seen to fail):

- ``--workers`` ignored (one process): fewer than two worker processes under the server;
- no migration before the workers start: the database is left at the first migration (where its
  user is made), so ``/health`` answers 503 ``behind``;
- ``--database-url`` not reaching the workers (they would serve ``./jointplan.db``): ``/health``
  503 and the token unknown.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import psutil
import pytest

import sqlalchemy as sa

from api.db import make_engine
from api.migrate import upgrade
from api.security import hash_token, new_token

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, token: str | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        conn.close()


@pytest.mark.slow
def test_serve_with_two_workers_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'served.db'}"
    upgrade(url, "0001_core")  # a user to call an authenticated route with; serve must migrate the rest
    engine = make_engine(url)
    token = new_token()
    with engine.begin() as conn:  # plain SQL: the ORM maps columns of later migrations (users.password_hash)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        user_id = conn.execute(sa.text("INSERT INTO users (name, role, disabled, created_at) "
                                       "VALUES ('pl', 'planner', 0, :now) RETURNING id"), {"now": now}).scalar()
        conn.execute(sa.text("INSERT INTO api_tokens (user_id, token_hash, created_at) VALUES (:u, :h, :now)"),
                     {"u": user_id, "h": hash_token(token), "now": now})
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("JOINTPLAN_DATABASE_URL", None)
    proc = subprocess.Popen([sys.executable, "-m", "jointplan", "serve", "--workers", "2", "--port", str(port),
                             "--database-url", url], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                status, body = _get(port, "/health")
                if status in (200, 503):
                    break
            except OSError:
                pass
            assert time.time() < deadline, "the server did not answer within 60 s"
            time.sleep(0.2)
        assert (status, body["schema"]) == (200, "current"), body
        workers = [p for p in psutil.Process(proc.pid).children(recursive=True) if "python" in p.name().lower()]
        assert len(workers) >= 2, workers
        statuses = {_get(port, "/scenarios", token)[0] for _ in range(8)}  # spread over the workers
        assert statuses == {200}
        assert _get(port, "/scenarios")[0] == 401
        assert not (tmp_path / "jointplan.db").exists()  # the database asked for, not the default
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
