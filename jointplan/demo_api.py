"""``jointplan demo --via-api``: the main job run through the service.

A fresh SQLite database in the demo folder gets the bundled chain's partners and one user per
role (with the code of ``jointplan users``); ``jointplan serve`` and ``jointplan worker`` start as
child processes on loopback; then every step of the file-based demo is made over HTTP, each by the
role that does it in practice, and what that role saw is printed:

1. the retailer (shops) uploads its point-of-sale history;
2. the planner runs a statistical forecast (a job) and polls it to done;
3. shops and wholesale submit their forecast rounds;
4. the planner applies the collaboration's exception rules; each partner lists the exceptions it
   sees (only those involving it);
5. the planner resolves one exception;
6. the planner builds the consensus; each partner sees the consensus of its own items;
7. the planner fills small_chain with the consensus as a new scenario version
   (``POST /scenarios/{id}/from-consensus``, ETag / If-Match);
8. the planner submits the plan (202 + Location), polls it to done and reads the KPIs;
9. the finance user reads the funding per partner and approves it with a comment;
10. each partner user reads its own funding and is refused another partner's.

The service and the worker are always stopped at the end, also on an error or Ctrl-C. Any step
that does not answer as expected stops the demo with exit code 1 and says which request failed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scenarios.io import EXAMPLES_DIR

EXIT_FAILED = 1
SERVICE_START_TIMEOUT = 120.0  # seconds for `jointplan serve` to answer
WORKER_START_TIMEOUT = 120.0
FORECAST_TIMEOUT = 1800.0  # the model competition on 2 cores takes a few minutes
PLAN_TIMEOUT = 900.0
SERVICE_LEVEL = 0.95
PROMO = ("widget/store-north", "retailer-vs-statistical")  # the exception the file demo resolves


def stop_process(proc: subprocess.Popen | None, grace: float = 20.0) -> bool:
    """SIGTERM a child process, SIGKILL it after ``grace`` seconds; True when it was running."""
    if proc is None or proc.poll() is not None:
        return False
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    return True


class DemoFailed(Exception):
    """A step did not go as it should; the message says which request and why."""


# ---------------------------------------------------------------------------------------------
# Who takes part
# ---------------------------------------------------------------------------------------------


@dataclass
class Actor:
    """A user of the service: its name, role, partner and bearer token."""

    name: str
    role: str
    partner: str | None = None
    token: str = field(default="", repr=False)
    password: str | None = field(default=None, repr=False)  # browser sign-in (``jointplan serve --demo``)

    @property
    def label(self) -> str:
        return f"{self.role}{' ' + self.partner if self.partner else ''} ({self.name})"


def _people(partner_ids: Iterable[str]) -> dict[str, Actor]:
    """One admin, planner and finance user, and one user per partner (keyed by partner id)."""
    names = {"shops": "ana@cornershops", "wholesale": "li@centralwholesale", "maker": "mo@acme", "haul": "hal@swifthaulage"}
    out = {
        "admin": Actor("admin", "admin"),
        "planner": Actor("pia@planning", "planner"),
        "finance": Actor("fin@treasury", "finance"),
    }
    for pid in partner_ids:
        out[pid] = Actor(names.get(pid, f"user@{pid}"), "partner", pid)
    return out


def _database(out: Path) -> str:
    """A fresh SQLite database in ``out`` (any earlier demo database removed)."""
    db = (out / "jointplan.db").resolve()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{db}"


def setup_database(url: str, scenario, people: dict[str, Actor]) -> None:
    """Migrate the database, register the scenario's partners and create the users with their
    first tokens: the code behind ``jointplan partners create`` and ``jointplan users create``."""
    from api.db import make_engine, session_factory
    from api.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            add_partners_and_users(session, scenario, people)
            session.commit()
    finally:
        engine.dispose()


def add_partners_and_users(session, scenario, people: dict[str, Actor]) -> None:
    """Register ``scenario``'s partners and create ``people`` with their first tokens (and their
    browser sign-in ``password``, when an actor has one); flushed, not committed."""
    from api.models import PartnerRecord
    from api.routes.partners import PartnerCreate
    from api.security import UserError, create_user

    for p in scenario.partners:
        body = PartnerCreate(id=p.id, name=p.name or p.id, role=p.role.value if hasattr(p.role, "value") else p.role)
        session.add(PartnerRecord(id=body.id, name=body.name, role=body.role))
    session.flush()
    for actor in people.values():
        try:
            _user, actor.token = create_user(session, actor.name, actor.role, actor.partner, actor.password)
        except UserError as exc:
            raise DemoFailed(f"creating user {actor.name}: {exc}") from None
    session.flush()


# ---------------------------------------------------------------------------------------------
# The service and the worker as child processes
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class Services:
    """``jointplan serve`` on a free loopback port and one ``jointplan worker``, on ``url``; a
    context manager that always stops both (SIGTERM, then SIGKILL after a grace period)."""

    def __init__(self, url: str, out: Path, console: Console):
        self.url = url
        self.out = out
        self.console = console
        self.env = {**os.environ, "JOINTPLAN_DATABASE_URL": url}
        self.service: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.base_url = ""
        self.service_log = out / "service.log"
        self.worker_log = out / "worker.log"

    def _spawn(self, args: list[str], log: Path) -> subprocess.Popen:
        handle = open(log, "wb")  # noqa: SIM115 - the child writes to it; closed right after the fork
        try:
            # a session of its own: a Ctrl-C reaches the demo only, which stops the children in order
            return subprocess.Popen([sys.executable, "-m", "jointplan", *args], env=self.env, stdout=handle,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            handle.close()

    def start(self) -> None:
        # the worker starts while the service does (both take seconds to import)
        self.worker = self._spawn(["worker", "--poll", "0.2", "--database-url", self.url], self.worker_log)
        for attempt in range(3):  # the free port may be taken between asking and binding: try another
            port = _free_port()
            self.base_url = f"http://127.0.0.1:{port}"
            self.service = self._spawn(["serve", "--host", "127.0.0.1", "--port", str(port), "--database-url", self.url],
                                       self.service_log)
            if self._wait_healthy():
                break
            log = _tail(self.service_log)
            self._stop(self.service)
            if "address already in use" not in log.lower() or attempt == 2:
                raise DemoFailed(f"`jointplan serve` did not come up on {self.base_url}; its log ends:\n{log}")
        self._wait_worker()

    def _wait_healthy(self) -> bool:
        import httpx

        deadline = time.monotonic() + SERVICE_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.service.poll() is not None:
                return False
            try:
                if httpx.get(self.base_url + "/openapi.json", timeout=5).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        return False

    def _wait_worker(self) -> None:
        deadline = time.monotonic() + WORKER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.worker.poll() is not None:
                raise DemoFailed(f"`jointplan worker` exited with code {self.worker.returncode}; its log ends:\n"
                                 + _tail(self.worker_log))
            if "jobs run in" in " ".join(_tail(self.worker_log, 50).split()):  # the console may wrap the line
                return
            time.sleep(0.3)
        raise DemoFailed("`jointplan worker` did not report ready; its log ends:\n" + _tail(self.worker_log))

    @staticmethod
    def _stop(proc: subprocess.Popen | None, grace: float = 20.0) -> None:
        stop_process(proc, grace)

    def check_alive(self) -> None:
        for name, proc, log in (("service", self.service, self.service_log), ("worker", self.worker, self.worker_log)):
            if proc is not None and proc.poll() is not None:
                raise DemoFailed(f"the {name} exited with code {proc.returncode}; its log ends:\n{_tail(log)}")

    def stop(self) -> None:
        # the worker first: a job it holds goes back to the queue
        try:
            self._stop(self.worker)
        finally:
            self._stop(self.service)

    def __enter__(self) -> "Services":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _Interrupts:
    """SIGTERM and SIGHUP end the demo like Ctrl-C (so the children are stopped); restored after."""

    def __enter__(self):
        self.saved = {}
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is None:
                continue
            try:
                self.saved[sig] = signal.signal(sig, self._raise)
            except ValueError:  # not the main thread: leave the handlers alone
                pass
        return self

    @staticmethod
    def _raise(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def __exit__(self, *exc):
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


def _detail(r: "httpx.Response") -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:500]
    detail = body.get("detail", body) if isinstance(body, dict) else body
    if isinstance(detail, list):
        return "; ".join(f"{d.get('field', '')}: {d.get('msg', d)}" if isinstance(d, dict) else str(d) for d in detail)
    return str(detail)[:500]


class Api:
    """Requests as one actor or another; every request is echoed and kept in the transcript."""

    def __init__(self, base_url: str, console: Console, services: Services | None = None):
        import httpx  # here, not at the top: ``jointplan serve --demo`` uses this module without it

        self.http = httpx.Client(base_url=base_url, timeout=120)
        self.console = console
        self.services = services
        self.transcript: list[dict[str, Any]] = []

    def close(self) -> None:
        self.http.close()

    def call(self, actor: Actor, method: str, path: str, *, expect: Iterable[int] = (200,), echo: bool = True,
             headers: dict[str, str] | None = None, **kw) -> "httpx.Response":
        import httpx

        try:
            r = self.http.request(method, path, headers={"Authorization": f"Bearer {actor.token}", **(headers or {})}, **kw)
        except httpx.HTTPError as exc:
            if self.services is not None:
                self.services.check_alive()
            raise DemoFailed(f"{method} {path} as {actor.label}: {type(exc).__name__}: {exc}") from None
        self.transcript.append({"user": actor.name, "role": actor.role, "partner": actor.partner, "method": method,
                                "path": str(r.request.url.raw_path.decode()), "status": r.status_code})
        expect = tuple(expect)
        if echo:
            colour = "green" if r.status_code < 300 else ("yellow" if r.status_code in expect else "red")
            self.console.print(f"  {escape(actor.label)}: {method} {escape(path)} -> [{colour}]{r.status_code}[/]")
        if r.status_code not in expect:
            raise DemoFailed(f"{method} {path} as {actor.label} answered {r.status_code} (expected "
                             f"{' or '.join(map(str, expect))}): {_detail(r)}")
        return r

    def all_pages(self, actor: Actor, path: str, **params) -> list[dict[str, Any]]:
        items, offset = [], 0
        while True:
            page = self.call(actor, "GET", path, params={**params, "limit": 200, "offset": offset}, echo=offset == 0).json()
            items += page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return items

    def poll(self, actor: Actor, location: str, what: str, timeout: float) -> dict[str, Any]:
        """GET ``location`` until its job ends; prints each new progress message."""
        deadline, seen = time.monotonic() + timeout, set()
        while True:
            body = self.call(actor, "GET", location, echo=False).json()
            job = body.get("job") or {}
            for event in job.get("events") or []:
                key = (event.get("at"), event.get("message"))
                if key not in seen:
                    seen.add(key)
                    pct = f"{100 * event['progress']:.0f}%" if event.get("progress") is not None else ""
                    self.console.print(f"    {what}: {pct:>4} {escape(str(event.get('message', '')))}")
            status = body["status"]
            if status == "done":
                self.console.print(f"  {escape(actor.label)}: GET {escape(location)} -> 200, job {job.get('id')} "
                                   f"done after {job.get('attempts')} attempt(s)")
                return body
            if status in ("failed", "cancelled"):
                raise DemoFailed(f"{what} {location} ended {status}: {job.get('error') or job.get('message')}")
            if time.monotonic() > deadline:
                raise DemoFailed(f"{what} {location} not done after {timeout:.0f} s (status {status})")
            if self.services is not None:
                self.services.check_alive()
            time.sleep(0.5)


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------


def _money(x: Any) -> str:
    from jointplan.numbers import money

    return money(x) if isinstance(x, (int, float)) else "-"


def _table(title: str, columns: list[str], rows: Iterable[Iterable[Any]], right: Iterable[str] = ()) -> Table:
    right = set(right)
    t = Table(title=escape(title), box=None, padding=(0, 1), title_justify="left")
    for c in columns:
        t.add_column(escape(c), justify="right" if c in right else "left", no_wrap=True)
    for row in rows:
        t.add_row(*(escape(str(v)) for v in row))
    return t


# ---------------------------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------------------------


class Walk:
    """The demo's steps, one method each; state shared between them on ``self``."""

    def __init__(self, api: Api, people: dict[str, Actor], console: Console, out: Path, fast: bool, scenario):
        self.api, self.people, self.console, self.out, self.fast = api, people, console, out, fast
        self.scenario = scenario
        self.partner_ids = [p.id for p in scenario.partners]
        self.planner, self.finance, self.admin = people["planner"], people["finance"], people["admin"]
        self.step = ""
        self.facts: dict[str, Any] = {}

    def rule(self, title: str) -> None:
        self.step = title
        self.console.rule(escape(title))

    def partner(self, pid: str) -> Actor:
        return self.people[pid]

    # 0 ------------------------------------------------------------------------------------------
    def who(self) -> None:
        self.rule("0. Who is who (the admin's view)")
        users = self.api.call(self.admin, "GET", "/users", params={"limit": 200}).json()["items"]
        partners = {p["id"]: p for p in self.api.call(self.admin, "GET", "/partners").json()["items"]}
        self.console.print(_table("Users (tokens created with the code of `jointplan users create`, kept hashed)",
                                  ["user", "role", "partner", "partner name"],
                                  [(u["name"], u["role"], u["partner_id"] or "", partners.get(u["partner_id"], {}).get("name", ""))
                                   for u in users]))
        me = self.api.call(self.partner("shops"), "GET", "/partners").json()["items"]
        self.console.print(f"  shops' user lists the partners and sees: {escape(', '.join(p['id'] for p in me))}")
        if [p["id"] for p in me] != ["shops"]:
            raise DemoFailed(f"a partner user should see only its own partner, saw {[p['id'] for p in me]}")

    # 1 ------------------------------------------------------------------------------------------
    def upload_history(self) -> None:
        self.rule("1. Shared sales history: Corner Shops (shops) uploads its point-of-sale data")
        shops = self.partner("shops")
        body = (EXAMPLES_DIR / "small_chain_history.csv").read_bytes()
        headers = {"Content-Type": "text/csv", "Idempotency-Key": "shops-pos-2022-2026"}
        up = self.api.call(shops, "POST", "/uploads", content=body, headers=headers, expect=(201,)).json()
        self.console.print(f"    upload {up['id']}: {up['row_count']} rows, keys {escape(', '.join(up['keys']))}, "
                           f"by {escape(up['uploader'])} at {up['created_at'][:19]}Z, sha256 {up['content_hash'][:12]}")
        again = self.api.call(shops, "POST", "/uploads", content=body, headers=headers, expect=(200,))
        self.console.print(f"    sent again with the same Idempotency-Key: upload {again.json()['id']} replayed "
                           f"(Idempotent-Replayed: {escape(again.headers.get('Idempotent-Replayed', ''))}), nothing stored twice")
        other = self.partner("wholesale")
        seen = self.api.call(other, "GET", "/uploads").json()
        peek = self.api.call(other, "GET", f"/uploads/{up['id']}", expect=(404,))
        self.console.print(f"    wholesale lists uploads: {seen['total']} (only its own); shops' upload {up['id']}: "
                           f"{peek.status_code}")
        if seen["total"] != 0:
            raise DemoFailed("wholesale's user sees another partner's uploads")
        self.facts["upload"] = up["id"]

    # 2 ------------------------------------------------------------------------------------------
    def forecast(self) -> None:
        periods = self.scenario.time.periods
        self.rule(f"2. Statistical forecast: the planner runs a forecast job ({periods} months"
                  + (", fast" if self.fast else ", model competition per series") + ")")
        r = self.api.call(self.planner, "POST", "/forecast-runs", json={"horizon": periods, "freq": "M", "fast": self.fast},
                          expect=(202,))
        location = r.headers["Location"]
        self.console.print(f"    202 Accepted, Location: {escape(location)}; the worker picks it up")
        run = self.api.poll(self.planner, location, "forecast", FORECAST_TIMEOUT)
        rows = self.api.all_pages(self.planner, f"{location}/forecasts")
        by_series: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_series.setdefault(row["unique_id"], []).append(row)
        table = []
        for uid, rs in sorted(by_series.items()):
            rs.sort(key=lambda x: x["ds"])
            peak = max(rs, key=lambda x: x["p50"])
            table.append((uid, _clip(str(rs[0].get("method", "")), 34), _money(sum(x["p50"] for x in rs)),
                          f"{peak['ds'][:7]} {_money(peak['p10'])}/{_money(peak['p50'])}/{_money(peak['p90'])}"))
        months = sorted({r["ds"][:7] for r in rows})
        self.console.print(_table(f"Forecast run {run['id']} (the planner's view), {months[0]} to {months[-1]}" if months
                                  else f"Forecast run {run['id']} (the planner's view)",
                                  ["series", "method", "total p50", "peak month p10/p50/p90"], table,
                                  right={"total p50"}))
        summary = run.get("summary") or {}
        wins = summary.get("wins") or summary.get("wins_per_method")
        if isinstance(wins, dict) and wins:
            self.console.print("    ranked first on the backtest: " + escape(", ".join(f"{k} {v}" for k, v in wins.items())))
        denied = self.api.call(self.partner("shops"), "GET", location, expect=(403,))
        self.console.print(f"    shops asks for the statistical run itself: {denied.status_code} "
                           "(partners see the consensus of their items instead)")
        self.facts["forecast_run"] = run["id"]

    # 3 ------------------------------------------------------------------------------------------
    def submissions(self) -> None:
        import pandas as pd

        self.rule("3. Partners submit their own forecasts (two rounds each)")
        for pid in ("shops", "wholesale"):
            actor = self.partner(pid)
            table = pd.read_csv(EXAMPLES_DIR / f"small_chain_submissions_{pid}.csv", dtype=str)
            for round_date, rows in table.groupby("round", sort=True):
                csv = rows.drop(columns="round").to_csv(index=False)
                sub = self.api.call(actor, "POST", "/submissions", content=csv.encode(), expect=(201,),
                                    params={"note": f"forecast round of {round_date}", "keys": "product,site"},
                                    headers={"Content-Type": "text/csv"}).json()
                self.console.print(f"    {pid} version {sub['version']}: {sub['row_count']} series-periods "
                                   f"({escape(sub['note'])}) by {escape(sub['author'])}")
        mine = self.api.call(self.partner("shops"), "GET", "/submissions").json()
        self.console.print(f"    shops lists submissions: {mine['total']} version(s), all its own: "
                           f"{all(s['partner_id'] == 'shops' for s in mine['items'])}")
        if any(s["partner_id"] != "shops" for s in mine["items"]):
            raise DemoFailed("shops' user sees another partner's submissions")

    # 4 ------------------------------------------------------------------------------------------
    def exceptions(self) -> None:
        import yaml

        self.rule("4. CPFR exceptions: the planner applies the collaboration's rules")
        rules = yaml.safe_load((EXAMPLES_DIR / "small_chain_collab.yaml").read_text())
        scan = self.api.call(self.planner, "POST", "/exception-scans", json={"rules": rules, "freq": "M"}).json()
        self.console.print(f"    {scan['found']} exception(s) found, {scan['new']} new"
                           + "".join(f"\n    note: {escape(n)}" for n in scan["notes"]))
        everything = self.api.all_pages(self.planner, "/exceptions")
        rank = {"high": 0, "medium": 1, "low": 2}
        shown = sorted(everything, key=lambda e: (rank.get(e["severity"], 3), e["unique_id"], e["ds"] or ""))[:10]
        by_rule = Counter((e["rule"], e["severity"]) for e in everything)
        self.console.print(f"    the planner sees all {len(everything)}: "
                           + escape(", ".join(f"{r} ({s}) {n}" for (r, s), n in sorted(by_rule.items()))))
        self.console.print(_table("Most severe first" + (" (10 shown)" if len(everything) > 10 else ""),
                                  ["series", "period", "sources", "values", "severity", "owner"],
                                  [(e["unique_id"], (e["ds"] or "")[:7], e["sources"], _clip(e["values"], 30),
                                    e["severity"], e["owner"]) for e in shown]))
        rows = []
        for pid in self.partner_ids:
            seen = self.api.all_pages(self.partner(pid), "/exceptions")
            expected = {e["id"] for e in everything if pid in e["partners"]}
            got = {e["id"] for e in seen}
            if got != expected:
                raise DemoFailed(f"{pid}'s user sees {len(got)} exception(s), {len(expected)} involve it: "
                                 f"extra {sorted(got - expected)[:5]}, missing {sorted(expected - got)[:5]}")
            rules_seen = Counter(e["rule"] for e in seen)
            rows.append((pid, len(seen), ", ".join(f"{k} {v}" for k, v in sorted(rules_seen.items())) or "-"))
        self.console.print(_table("What each partner sees (only the exceptions that involve it)",
                                  ["partner", "exceptions", "by rule"], rows, right={"exceptions"}))
        self.facts["exceptions"] = everything

    # 5 ------------------------------------------------------------------------------------------
    def resolve(self) -> None:
        self.rule("5. The planner resolves an exception")
        everything = self.facts["exceptions"]
        promo = [e for e in everything if (e["unique_id"], e["rule"]) == PROMO]
        if promo:
            target, source = promo[0], "shops"
            periods = sorted({e["ds"] for e in promo if e["ds"]})
            reason = "Q4 promotion at store-north confirmed in the S&OP meeting"
        else:  # the forecast differs (e.g. --fast): resolve the first tolerance exception by its owner's figure
            tolerance = [e for e in everything if e["kind"] == "tolerance" and e["owner"] in e["sources"].split(" vs ")]
            if not tolerance:
                self.console.print("    no tolerance exception to resolve: the sources agree within the rules")
                return
            target, source, periods = tolerance[0], tolerance[0]["owner"], [tolerance[0]["ds"]]
            reason = f"{tolerance[0]['owner']}'s figure confirmed in the S&OP meeting"
        body = {"action": "accept_source", "source": source, "periods": periods, "reason": reason}
        res = self.api.call(self.planner, "POST", f"/exceptions/{target['id']}/resolve", json=body, expect=(201,)).json()
        self.console.print(f"    resolution {res['id']} of {escape(target['id'])}: accept the forecast of {escape(source)} for "
                           f"{escape(res['unique_id'])} in {escape(', '.join(p[:7] for p in res['periods'] or []))} "
                           f"({escape(res['reason'])}), by {escape(res['author'])}")
        owner = self.partner(target["owner"]) if target["owner"] in self.partner_ids else None
        if owner is not None:
            seen = self.api.call(owner, "GET", f"/exceptions/{target['id']}/resolutions").json()
            self.console.print(f"    {escape(owner.partner)}, the exception's owner, reads its resolutions: "
                               f"{len(seen)} (by {escape(', '.join(s['author'] for s in seen))})")
        self.facts["resolution"] = res["id"]

    # 6 ------------------------------------------------------------------------------------------
    def consensus(self) -> None:
        self.rule("6. Consensus demand plan: the planner builds it")
        cv = self.api.call(self.planner, "POST", "/consensus", json={"rule": "weighted", "freq": "M"}, expect=(201,)).json()
        bases = Counter(r["basis"] for r in cv["items"])
        self.console.print(f"    consensus version {cv['version']}: {cv['rows']} series-periods of "
                           f"{len({r['unique_id'] for r in cv['items']})} series, rule {escape(cv['rule'])}, "
                           f"from forecast run {cv['forecast_run_id']}, submissions "
                           f"{escape(json.dumps(cv['inputs'].get('submissions', {})))}, resolutions "
                           f"{cv['inputs'].get('resolutions', [])}")
        self.console.print("    basis: " + escape(", ".join(f"{k} {v}" for k, v in bases.most_common())))
        for note in cv["notes"]:
            self.console.print(f"    note: {escape(note)}")
        rows = [("planner", cv["rows"], len({r["unique_id"] for r in cv["items"]}), "yes" if cv["trace"] else "no")]
        for pid in self.partner_ids:
            seen = self.api.call(self.partner(pid), "GET", f"/consensus/{cv['version']}").json()
            if seen["trace"]:
                raise DemoFailed(f"{pid}'s user was shown the consensus trace")
            rows.append((pid, seen["rows"], ", ".join(sorted({r["unique_id"] for r in seen["items"]})) or "-", "no"))
        self.console.print(_table(f"Consensus version {cv['version']}: what each role sees",
                                  ["who", "rows", "series", "trace"], rows, right={"rows"}))
        self.facts["consensus"] = cv

    # 7 ------------------------------------------------------------------------------------------
    def scenario_versions(self) -> None:
        self.rule("7. Scenario: small_chain filled with the consensus, stored as a new version")
        base_content = json.loads(json.dumps(yaml_content(), default=str))
        v1 = self.api.call(self.planner, "POST", "/scenarios", expect=(201,),
                           json={"name": "small-chain", "content": base_content, "comment": "bundled small_chain"})
        first = v1.json()
        sid = first["scenario_id"]
        self.console.print(f"    scenario {sid} version 1 (bundled demand), ETag {escape(v1.headers['ETag'][:24])}...")
        cv = self.facts["consensus"]
        body = {"consensus_version": cv["version"], "service_level": SERVICE_LEVEL}
        route = f"/scenarios/{sid}/from-consensus"
        v2 = self.api.call(self.planner, "POST", route, json=body, expect=(201,), headers={"If-Match": v1.headers["ETag"]})
        for line in v2.json()["warnings"]:
            self.console.print(f"    {escape(line)}")
        self.console.print(f"    version 2 stored (If-Match: version 1's ETag) by POST {escape(route)}: "
                           f"{escape(v2.json()['comment'])}; ETag {escape(v2.headers['ETag'][:24])}...")
        stale = self.api.call(self.planner, "POST", route, json=body, expect=(412,), headers={"If-Match": v1.headers["ETag"]})
        self.console.print(f"    a second edit from version 1 (a stale ETag): {stale.status_code} "
                           "- nobody silently overwrites version 2")
        changes = self.api.call(self.planner, "GET", f"/scenarios/{sid}/diff", params={"from": 1, "to": 2}).json()["changes"]
        parts = Counter(c["path"].split("[")[0].split(".")[0] for c in changes)
        self.console.print(f"    diff 1 -> 2: {len(changes)} changed field(s): "
                           + escape(", ".join(f"{k} {v}" for k, v in parts.most_common())))
        for c in changes[:4]:
            self.console.print(f"      {escape(c['path'])}: {escape(_short(c['old']))} -> {escape(_short(c['new']))}")
        denied = self.api.call(self.partner("maker"), "GET", f"/scenarios/{sid}", expect=(403,))
        self.console.print(f"    maker asks for the scenario: {denied.status_code} (it holds every partner's costs)")
        self.facts["scenario"] = (sid, 2)

    # 8 ------------------------------------------------------------------------------------------
    def plan(self) -> None:
        sid, version = self.facts["scenario"]
        self.rule(f"8. Joint plan: the planner submits scenario {sid} version {version}")
        r = self.api.call(self.planner, "POST", "/plans", json={"scenario_id": sid, "version": version}, expect=(202,))
        location = r.headers["Location"]
        self.console.print(f"    202 Accepted, Location: {escape(location)}")
        plan = self.api.poll(self.planner, location, "plan", PLAN_TIMEOUT)
        res = plan["result"] or {}
        if res.get("status") not in ("optimal", "feasible"):
            raise DemoFailed(f"plan {plan['id']} has no plan: status {res.get('status')}, diagnosis {res.get('diagnosis')}")
        kpis = res["kpis"]
        chain = kpis["chain"]
        currency = self.scenario.currency or ""
        self.console.print(f"    plan {plan['id']}: status {escape(res['status'])}, objective ({escape(res['objective_sense'])}) "
                           f"{_money(res['objective'])} {escape(currency)}")
        self.console.print(f"    chain: revenue {_money(chain['revenue'])}, cost {_money(chain['total_cost'])}, profit "
                           f"{_money(chain['profit'])}; fill rate {chain['fill_rate']:.1%}, unmet demand "
                           f"{chain['unmet_demand']:,.0f} units")
        rows = [(a, k["role"], _money(k["revenue"]), _money(sum(k["costs"].values())), _money(k["profit"]),
                 _money(k["closing_cash"]), f"{_money(k['peak_funding_gap'])}@{k['peak_funding_gap_period']}")
                for a, k in kpis["partners"].items()]
        self.console.print(_table(f"Partners (the planner's view; {currency})",
                                  ["partner", "role", "revenue", "cost", "profit", "end cash", "peak gap"], rows,
                                  right={"revenue", "cost", "profit", "end cash", "peak gap"}))
        timings = (plan.get("job") or {}).get("timings") or res.get("timings") or {}
        if timings:
            self.console.print("    timings: " + escape(", ".join(f"{k} {v:.2f}s" for k, v in timings.items()
                                                                  if isinstance(v, (int, float)))))
        again = self.api.call(self.planner, "POST", "/plans", json={"scenario_id": sid, "version": version}, expect=(200,))
        self.console.print(f"    the same version asked again: {again.status_code}, plan {again.json()['id']} "
                           "(the stored result, not solved twice)")
        (self.out / "small_chain.api.plan.json").write_text(json.dumps(plan, indent=1, default=str))
        self.facts["plan"] = plan["id"]

    # 9 ------------------------------------------------------------------------------------------
    def funding_review(self) -> None:
        plan_id = self.facts["plan"]
        self.rule(f"9. Finance: the funding of plan {plan_id} per partner, and the review")
        funding = self.api.call(self.finance, "GET", f"/plans/{plan_id}/funding").json()
        summary = funding.get("summary")
        if not funding["partners"]:
            raise DemoFailed(f"plan {plan_id} has no funding per partner (the scenario's finance section was not used)")
        rows = []
        for p in funding["partners"]:
            k = p["kpis"] or {}
            rows.append((p["partner"], p["status"], p["mode"] or "",
                         f"{_money(k.get('peak_funding_need'))}@{k.get('peak_funding_need_period', '-')}",
                         _money(k.get("financing_cost")),
                         f"{k['effective_annual_rate']:.2%}" if isinstance(k.get("effective_annual_rate"), (int, float)) else "-",
                         f"{k['cash_conversion_cycle_days']:.0f}" if isinstance(k.get("cash_conversion_cycle_days"), (int, float)) else "-"))
        currency = (funding["partners"][0].get("currency") or "")
        self.console.print(_table(f"Funding per partner (the finance user's view; {currency})",
                                  ["partner", "status", "mode", "peak need", "financing cost", "EAR", "CCC days"],
                                  rows, right={"peak need", "financing cost", "EAR", "CCC days"}))
        total = (summary or {}).get("total") or {}
        if summary:
            self.console.print(f"    chain: funding {escape(str(summary.get('status')))}, financing cost "
                               f"{_money(total.get('financing_cost'))}, net of deposit interest "
                               f"{_money(total.get('net_financing_cost'))} {escape(currency)}")
        funded = summary is not None and summary.get("status") in ("optimal", "feasible")
        decision = "approve" if funded else "reject"
        comment = (f"funded with the partners' lines: financing cost {_money(total.get('financing_cost'))} {currency}, "
                   f"peak need {max((p['kpis'] or {}).get('peak_funding_need') or 0 for p in funding['partners']):,.0f}"
                   if funded else "the plan cannot be funded with the partners' instruments")
        review = self.api.call(self.finance, "POST", f"/plans/{plan_id}/reviews", json={"decision": decision, "comment": comment},
                               expect=(201,)).json()
        self.console.print(f"    review {review['id']}: {escape(review['decision'])} by {escape(review['reviewer'])}: "
                           f"\"{escape(review['comment'])}\" (active: {review['active']})")
        denied = self.api.call(self.finance, "POST", "/plans", json={"scenario_id": self.facts["scenario"][0]}, expect=(403,))
        self.console.print(f"    the finance user tries to submit a plan: {denied.status_code} (planners manage plans)")
        self.facts["funding_partners"] = [p["partner"] for p in funding["partners"]]

    # 10 -----------------------------------------------------------------------------------------
    def partners_funding(self) -> None:
        plan_id = self.facts["plan"]
        self.rule(f"10. Partners: each reads its own funding of plan {plan_id}, never another's")
        rows = []
        for pid in self.partner_ids:
            actor = self.partner(pid)
            own = self.api.call(actor, "GET", f"/plans/{plan_id}/funding/{pid}").json()
            other = next(p for p in self.partner_ids if p != pid)
            refused = self.api.call(actor, "GET", f"/plans/{plan_id}/funding/{other}", expect=(403, 404))
            listing = self.api.call(actor, "GET", f"/plans/{plan_id}/funding").json()
            if [p["partner"] for p in listing["partners"]] != [pid] or listing["summary"] is not None:
                raise DemoFailed(f"{pid}'s user sees more than its own funding: "
                                 f"{[p['partner'] for p in listing['partners']]}, chain summary {listing['summary'] is not None}")
            whole = self.api.call(actor, "GET", f"/plans/{plan_id}", expect=(403, 404))
            k = own["kpis"] or {}
            rows.append((pid, f"{_money(k.get('peak_funding_need'))}@{k.get('peak_funding_need_period', '-')}",
                         _money(k.get("financing_cost")), f"{other}: {refused.status_code}",
                         f"{len(listing['partners'])} (own)", whole.status_code))
        self.console.print(_table("What each partner user saw",
                                  ["partner", "own peak need", "own financing cost", "another partner's funding",
                                   "funding list", "the plan"], rows, right={"own peak need", "own financing cost"}))


def yaml_content() -> dict[str, Any]:
    """The bundled small_chain scenario as plain data (what a planner would send)."""
    import yaml

    return yaml.safe_load((EXAMPLES_DIR / "small_chain.yaml").read_text())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: Any, limit: int = 60) -> str:
    return _clip(json.dumps(value, default=str), limit)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def run_demo_via_api(out: Path, fast: bool, console: Console, err: Console) -> None:
    """``jointplan demo --via-api``: see the module docstring. Exits 1 if a step fails, 130 on Ctrl-C."""
    from scenarios.io import load_scenario

    out.mkdir(parents=True, exist_ok=True)
    scenario, _ = load_scenario(str(EXAMPLES_DIR / "small_chain.yaml"))
    people = _people(p.id for p in scenario.partners)
    url = _database(out)
    started = time.monotonic()
    walk: Optional[Walk] = None
    api: Optional[Api] = None
    try:
        with _Interrupts():
            console.rule("Setting up the service")
            setup_database(url, scenario, people)
            console.print(f"  database {escape(url)} migrated; {len(scenario.partners)} partners and "
                          f"{len(people)} users created with their tokens")
            with Services(url, out, console) as services:
                console.print(f"  service on {services.base_url} (pid {services.service.pid}, log "
                              f"{escape(str(services.service_log))}); worker pid {services.worker.pid} (log "
                              f"{escape(str(services.worker_log))})")
                api = Api(services.base_url, console, services)
                walk = Walk(api, people, console, out, fast, scenario)
                for step in (walk.who, walk.upload_history, walk.forecast, walk.submissions, walk.exceptions,
                             walk.resolve, walk.consensus, walk.scenario_versions, walk.plan, walk.funding_review,
                             walk.partners_funding):
                    step()
                console.rule("Stopping the service and the worker")
    except DemoFailed as exc:
        where = f" at step {walk.step!r}" if walk is not None and walk.step else ""
        err.print(f"[bold red]The demo through the API failed{escape(where)}[/]: {escape(str(exc))}")
        raise typer.Exit(EXIT_FAILED) from None
    except KeyboardInterrupt:
        err.print("[yellow]Interrupted[/]: the service and the worker were stopped")
        raise typer.Exit(130) from None
    finally:
        if api is not None:
            api.close()
            (out / "api_transcript.json").write_text(json.dumps(api.transcript, indent=1))
    n = len(api.transcript) if api else 0
    console.print(f"[green]Demo through the API done[/] in {time.monotonic() - started:.0f} s: {n} requests "
                  f"(transcript {escape(str(out / 'api_transcript.json'))}), database {escape(str(out / 'jointplan.db'))}; "
                  "service and worker stopped.")
