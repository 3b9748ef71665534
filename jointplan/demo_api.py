"""``jointplan demo --via-api``: the demo's story (:mod:`jointplan.demo_story`) through the service.

A fresh SQLite database in the demo folder gets the bundled chain's partners and one user per
role; the service (the app ``jointplan serve`` runs) and a job worker (what ``jointplan worker``
runs) start in this process, on a loopback port the system picks; then each step of
:data:`STEPS` is made over HTTP by the role that does it in practice, and what that role saw is
printed under the step's title (its docstring). A step that does not answer as expected stops the
demo with exit code 1, saying which request failed; the service and the worker stop at the end in
every case.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jointplan import demo_platform
from jointplan import demo_story as story
from jointplan.demo_story import Actor
from planning.status import has_solution
from scenarios.io import EXAMPLES_DIR

EXIT_FAILED = 1
SERVICE_START_TIMEOUT = 120.0  # seconds for the service to listen
FORECAST_TIMEOUT = 1800.0  # the model competition on 2 cores takes a few minutes
PLAN_TIMEOUT = 900.0


class DemoFailed(Exception):
    """A step did not go as it should; the message says which request and why."""


def _database(out: Path) -> str:
    """A fresh SQLite database in ``out`` (any earlier demo database removed)."""
    db = (out / "jointplan.db").resolve()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return f"sqlite:///{db}"


def setup_database(url: str, scenario, people: dict[str, Actor]) -> None:
    """Migrate the database, register the scenario's partners and create the users with their
    first tokens."""
    from api.db import make_engine, session_factory
    from api.migrate import upgrade
    from api.security import UserError

    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            story.add_partners_and_users(session, scenario, people)
            session.commit()
    except UserError as exc:
        raise DemoFailed(f"creating the demo users: {exc}") from None
    finally:
        engine.dispose()


class LocalService:
    """The service's app (``jointplan serve``'s factory, on the ``JOINTPLAN_*`` environment) under
    uvicorn on 127.0.0.1 and a job worker, each on a thread of this process (forecasts and plans
    still run in the worker's child processes); a context manager that stops both."""

    def __init__(self, url: str):
        import uvicorn

        from api.app import app_from_environment
        from api.db import make_engine
        from api.jobs.worker import Worker
        from api.settings import Settings

        os.environ["JOINTPLAN_DATABASE_URL"] = url  # what serve does for its app, read by every part
        self.server = uvicorn.Server(uvicorn.Config(app_from_environment(), host="127.0.0.1", port=0,
                                                    log_level="warning", access_log=False))
        self.engine = make_engine(url)
        self.worker = Worker(self.engine, settings=Settings())
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.server.run, name="service", daemon=True),
                        threading.Thread(target=self.worker.run, kwargs={"poll": 0.2, "stop": self.stopping},
                                         name="worker", daemon=True)]
        self.base_url = ""

    def __enter__(self) -> "LocalService":
        for t in self.threads:
            t.start()
        deadline = time.monotonic() + SERVICE_START_TIMEOUT
        while not self.server.started:
            if not self.threads[0].is_alive() or time.monotonic() > deadline:
                self.__exit__()
                raise DemoFailed("the service did not start listening on 127.0.0.1")
            time.sleep(0.05)
        self.base_url = "http://127.0.0.1:%d" % self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def check_alive(self) -> None:
        for t in self.threads:
            if not t.is_alive() and not self.stopping.is_set():
                raise DemoFailed(f"the {t.name} stopped")

    def __exit__(self, *exc) -> None:
        # the worker first: it finishes a job it holds (its child process ends with this one anyway)
        self.stopping.set()
        self.server.should_exit = True
        for t in self.threads:
            t.join(timeout=30)
        self.engine.dispose()


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

    def __init__(self, base_url: str, console: Console, service: LocalService | None = None):
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=120)
        self.console = console
        self.service = service
        self.transcript: list[dict[str, Any]] = []

    def close(self) -> None:
        self.http.close()

    def call(self, actor: Actor, method: str, path: str, *, expect: Iterable[int] = (200,), echo: bool = True,
             headers: dict[str, str] | None = None, **kw) -> "httpx.Response":
        import httpx

        try:
            r = self.http.request(method, path, headers={"Authorization": f"Bearer {actor.token}", **(headers or {})}, **kw)
        except httpx.HTTPError as exc:
            if self.service is not None:
                self.service.check_alive()
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
            if self.service is not None:
                self.service.check_alive()
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
    """The demo's steps, one method each, titled by its docstring; state shared between them on
    ``self``."""

    def __init__(self, api: Api, people: dict[str, Actor], console: Console, out: Path, fast: bool, scenario):
        self.api, self.people, self.console, self.out, self.fast = api, people, console, out, fast
        self.scenario = scenario
        self.partner_ids = [p.id for p in scenario.partners]
        self.planner, self.finance, self.admin = people["planner"], people["finance"], people["admin"]
        self.step = ""
        self.facts: dict[str, Any] = {}

    def run(self) -> None:
        """Each step of :data:`STEPS` under its number and title (the first line of its docstring)."""
        for number, step in enumerate(STEPS):
            self.step = f"{number}. {step.__doc__.strip().splitlines()[0]}"
            self.console.rule(escape(self.step))
            step(self)

    def partner(self, pid: str) -> Actor:
        return self.people[pid]

    def who(self) -> None:
        """Who is who (the admin's view)"""
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

    def upload_history(self) -> None:
        """Shared sales history: Corner Shops (shops) uploads its point-of-sale data"""
        shops = self.partner("shops")
        body = (EXAMPLES_DIR / story.HISTORY_FILE).read_bytes()
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

    def forecast(self) -> None:
        """Statistical forecast: the planner runs a forecast job"""
        periods = self.scenario.time.periods
        self.console.print(f"    {periods} months ahead, " + ("fast (one method per series class)" if self.fast
                                                             else "model competition per series"))
        r = self.api.call(self.planner, "POST", "/forecast-runs", json={"horizon": periods, "freq": story.FREQ, "fast": self.fast},
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

    def submissions(self) -> None:
        """Partners submit their own forecasts (two rounds each)"""
        import pandas as pd

        for pid in story.FORECASTERS:
            actor = self.partner(pid)
            table = pd.read_csv(EXAMPLES_DIR / story.SUBMISSIONS_FILE.format(pid), dtype=str)
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

    def exceptions(self) -> None:
        """CPFR exceptions: the planner applies the collaboration's rules"""
        import yaml

        rules = yaml.safe_load(story.COLLAB_FILE.read_text())
        scan = self.api.call(self.planner, "POST", "/exception-scans", json={"rules": rules, "freq": story.FREQ}).json()
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

    def resolve(self) -> None:
        """The planner resolves an exception"""
        everything = self.facts["exceptions"]
        promo = [e for e in everything if (e["unique_id"], e["rule"]) == (story.PROMO_SERIES, story.PROMO_RULE)]
        if promo:
            target, source = promo[0], story.PROMO_SOURCE
            periods = sorted({e["ds"] for e in promo if e["ds"]})
            reason = story.PROMO_REASON
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

    def consensus(self) -> None:
        """Consensus demand plan: the planner builds it"""
        cv = self.api.call(self.planner, "POST", "/consensus", json={"rule": story.CONSENSUS_RULE, "freq": story.FREQ}, expect=(201,)).json()
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

    def scenario_versions(self) -> None:
        """Scenario: small_chain filled with the consensus, stored as a new version"""
        base_content = json.loads(json.dumps(story.scenario_content(), default=str))
        v1 = self.api.call(self.planner, "POST", "/scenarios", expect=(201,),
                           json={"name": "small-chain", "content": base_content, "comment": "bundled small_chain"})
        first = v1.json()
        sid = first["scenario_id"]
        self.console.print(f"    scenario {sid} version 1 (bundled demand), ETag {escape(v1.headers['ETag'][:24])}...")
        cv = self.facts["consensus"]
        body = {"consensus_version": cv["version"], "service_level": story.SERVICE_LEVEL}
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

    def plan(self) -> None:
        """Joint plan: the planner submits the scenario's new version"""
        sid, version = self.facts["scenario"]
        r = self.api.call(self.planner, "POST", "/plans", json={"scenario_id": sid, "version": version}, expect=(202,))
        location = r.headers["Location"]
        self.console.print(f"    202 Accepted, Location: {escape(location)}")
        plan = self.api.poll(self.planner, location, "plan", PLAN_TIMEOUT)
        res = plan["result"] or {}
        if not has_solution(res.get("status")):
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

    def funding_review(self) -> None:
        """Finance: the plan's funding per partner, and the review"""
        plan_id = self.facts["plan"]
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
        funded = summary is not None and has_solution(summary.get("status"))
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

    def partners_funding(self) -> None:
        """Partners: each reads its own funding of the plan, never another's"""
        plan_id = self.facts["plan"]
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


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short(value: Any, limit: int = 60) -> str:
    return _clip(json.dumps(value, default=str), limit)


STEPS = (Walk.who, Walk.upload_history, Walk.forecast, Walk.submissions, Walk.exceptions, Walk.resolve, Walk.consensus,
         Walk.scenario_versions, Walk.plan, Walk.funding_review, Walk.partners_funding,
         demo_platform.invoices_and_advance, demo_platform.funding_at_risk)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def run_demo_via_api(out: Path, fast: bool, console: Console, err: Console) -> None:
    """``jointplan demo --via-api``: see the module docstring. Exits 1 if a step fails, 130 on Ctrl-C."""
    from scenarios.io import load_scenario

    out.mkdir(parents=True, exist_ok=True)
    scenario, _ = load_scenario(str(story.SCENARIO_FILE))
    people = story.people(p.id for p in scenario.partners)
    url = _database(out)
    started = time.monotonic()
    walk: Optional[Walk] = None
    api: Optional[Api] = None
    try:
        console.rule("Setting up the service")
        setup_database(url, scenario, people)
        console.print(f"  database {escape(url)} migrated; {len(scenario.partners)} partners and "
                      f"{len(people)} users created with their tokens")
        with LocalService(url) as service:
            console.print(f"  service on {service.base_url} and a job worker, in this process (pid {os.getpid()})")
            api = Api(service.base_url, console, service)
            walk = Walk(api, people, console, out, fast, scenario)
            walk.run()
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
