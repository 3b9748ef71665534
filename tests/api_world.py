"""A populated service for the API tests: partners, one user per role (two partner users of two
partners), and objects of every kind owned by each partner, made through the API where the API
makes them (uploads, submissions, consensus, scenarios) and with the job runner's own functions
for a solved plan."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.db import make_engine, session_factory
from api.models import ExceptionRecord, FinanceReview, FundingResultRecord, PartnerRecord, PlanRecord, ScenarioVersion
from api.security import create_user
from api.settings import Settings
from scenarios.io import EXAMPLES_DIR

PARTNERS = {"shops": "retailer", "wholesale": "wholesaler", "maker": "manufacturer", "haul": "transporter"}
# user name -> (role, partner)
USERS = {
    "adm": ("admin", None),
    "pl": ("planner", None),
    "fi": ("finance", None),
    "ana": ("partner", "shops"),
    "wil": ("partner", "wholesale"),
    "spare": ("partner", "shops"),  # the object of the /users/{user_id} routes
    "mo": ("partner", "maker"),  # sells the invoice the world's "own" partner buys
}
ROLE_USER = {"admin": "adm", "planner": "pl", "finance": "fi", "partner": "ana"}
# every user's browser sign-in password (POST /auth/login)
PASSWORDS = {name: f"{name}-sign-in-passphrase" for name in USERS}
_HASHES: dict[str, str] = {}


def password_hash(name: str) -> str:
    """The argon2id hash of a world user's password, made once per process (hashing costs ~50 ms)."""
    from api.web_auth import hash_password

    if name not in _HASHES:
        _HASHES[name] = hash_password(PASSWORDS[name])
    return _HASHES[name]
OWN, OTHER = "shops", "wholesale"


@dataclass
class World:
    url: str
    engine: Engine
    client: TestClient
    tokens: dict[str, str]
    user_ids: dict[str, int]
    ids: dict[str, dict[str, Any]] = field(default_factory=dict)  # kind -> {"own"/"other": id}

    def headers(self, user: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}", **extra}

    def sign_in(self, user: str, client: TestClient | None = None) -> dict[str, Any]:
        """Sign ``user`` in with its password on ``client`` (a new one by default: its own cookie
        jar); returns ``{"client", "csrf", "cookie", "body"}``."""
        client = client or TestClient(self.client.app)
        r = client.post("/auth/login", json={"name": user, "password": PASSWORDS[user]})
        assert r.status_code == 200, r.text
        return {"client": client, "csrf": r.json()["csrf_token"], "cookie": r.cookies["jp_session"], "body": r.json()}

    def session(self):
        return session_factory(self.engine)()


def history_csv(site: str | None = None, limit: int | None = None) -> str:
    df = pd.read_csv(EXAMPLES_DIR / "small_chain_history.csv", dtype=str)
    if site:
        df = df[df["site"] == site]
    if limit:
        df = df.groupby(["product", "site"]).tail(limit)
    return df.to_csv(index=False)


def submission_csv(partner: str, site: str | None = None) -> str:
    df = pd.read_csv(EXAMPLES_DIR / f"small_chain_submissions_{partner}.csv", dtype=str)
    if site:
        df = df[df["site"] == site]
    first = sorted(df["round"].unique())[0]
    return df[df["round"] == first].drop(columns="round").to_csv(index=False)


def scenario_content() -> dict[str, Any]:
    from api.routes.scenarios import EXAMPLE_CONTENT

    return json.loads(json.dumps(EXAMPLE_CONTENT))


def invoice_body(number: str, buyer: str, **changes: Any) -> dict[str, Any]:
    """A ``POST /invoices`` body: two lines, 3,700.00 EUR."""
    body = {"number": number, "buyer_id": buyer, "issue_date": "2027-01-31", "due_date": "2027-03-02",
            "currency": "EUR", "lines": [{"product": "widget", "quantity": "100", "unit_price": "32.00"},
                                         {"product": "gadget", "quantity": "10", "unit_price": "50"}]}
    return {**body, **changes}


_SHARED_APP: list = []


def make_app(url: str, engine: Engine | None = None, **settings: Any):
    """The app on ``url``. With default settings one app object is reused and pointed at the new
    database (building the routes takes a while); settings overrides get an app of their own."""
    if settings:
        return create_app(Settings(database_url=url, **settings), engine=engine)
    engine = engine or make_engine(url)
    if not _SHARED_APP:
        _SHARED_APP.append(create_app(Settings(database_url=url), engine=engine))
    app = _SHARED_APP[0]
    app.state.settings = Settings(database_url=url)
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    return app


def seed_users(engine: Engine) -> tuple[dict[str, str], dict[str, int]]:
    tokens, ids = {}, {}
    with session_factory(engine)() as s:
        for pid, role in PARTNERS.items():
            s.add(PartnerRecord(id=pid, name=pid.title(), role=role))
        s.flush()
        for name, (role, partner) in USERS.items():
            user, tokens[name] = create_user(s, name, role, partner)
            user.password_hash = password_hash(name)
            ids[name] = user.id
        s.commit()
    return tokens, ids


def build_world(url: str, plan_result: dict[str, Any] | None = None) -> World:
    """Populate the (migrated) database at ``url``; ``plan_result`` (from the plan runner) adds a
    done plan of the scenario with its funding and a finance review."""
    engine = make_engine(url)
    tokens, user_ids = seed_users(engine)
    client = TestClient(make_app(url, engine))
    w = World(url, engine, client, tokens, user_ids)

    def ok(r, code=201):
        assert r.status_code == code, r.text
        return r.json()

    csv = {"Content-Type": "text/csv"}
    up_own = ok(client.post("/uploads", content=history_csv("store-north"), headers=w.headers("ana", **csv)))
    up_other = ok(client.post("/uploads", content=history_csv("store-south"), headers=w.headers("wil", **csv)))
    sub_own = ok(client.post("/submissions", content=submission_csv("shops", "store-north"), headers=w.headers("ana", **csv)))
    sub_other = ok(client.post("/submissions", content=submission_csv("wholesale", "store-south"), headers=w.headers("wil", **csv)))
    ok(client.post("/consensus", json={"rule": "weighted"}, headers=w.headers("pl")))
    content = scenario_content()
    content["time"]["start"] = "2026-01-01"  # the year the partners' first-round submissions cover
    scen = ok(client.post("/scenarios", json={"name": "base", "content": content}, headers=w.headers("pl")))
    content["partners"][0]["opening_cash"] = content["partners"][0].get("opening_cash", 0) + 10_000
    ok(client.post(f"/scenarios/{scen['scenario_id']}/versions", json={"content": content, "comment": "more cash"},
                   headers=w.headers("pl", **{"If-Match": scen["etag"]})))
    with w.session() as s:  # the /users/{user_id}/tokens/{token_id} routes: a token of that user
        from api.models import ApiToken

        spare_token = s.query(ApiToken).filter_by(user_id=user_ids["spare"]).first().id
    w.ids = {
        "partner": {"own": OWN, "other": OTHER},
        "token": {"own": spare_token, "other": spare_token},
        "user": {"own": user_ids["spare"], "other": user_ids["spare"]},
        "upload": {"own": up_own["id"], "other": up_other["id"]},
        "submission": {"own": sub_own["id"], "other": sub_other["id"]},
        "consensus": {"own": 1, "other": 1},
        "scenario": {"own": scen["scenario_id"], "other": scen["scenario_id"]},
    }
    with w.session() as s:  # one exception involving only each partner (as a scan records them)
        for owner, ex in ((OWN, "EX-00000000a1"), (OTHER, "EX-00000000b2")):
            s.add(ExceptionRecord(id=ex, unique_id=f"widget/{owner}", ds="2027-01-01", rule="vs-statistical",
                                  kind="tolerance", sources=f"{owner} vs statistical", values="100 vs 200", measure=100.0,
                                  limit=50.0, severity="medium", owner=owner, message="differ", partners=[owner]))
        s.commit()
    w.ids["exception"] = {"own": "EX-00000000a1", "other": "EX-00000000b2"}
    # invoices: one the own partner buys (from maker), one between two others (wholesale to haul)
    own_inv = ok(client.post("/invoices", json=invoice_body("INV-M-1", OWN), headers=w.headers("mo")))
    other_inv = ok(client.post("/invoices", json=invoice_body("INV-W-1", "haul"), headers=w.headers("wil")))
    w.ids["invoice"] = {"own": own_inv["id"], "other": other_inv["id"]}
    if plan_result is not None:  # a done plan of each version (as the plan runner stores them) and a review
        plans = []
        with w.session() as s:
            for version in (1, 2):
                sv = s.query(ScenarioVersion).filter_by(scenario_id=scen["scenario_id"], version=version).one()
                plan = PlanRecord(scenario_version_id=sv.id, options={}, options_hash=f"{version:064d}", status="done",
                                  result=plan_result["plan"], created_by_id=user_ids["pl"])
                s.add(plan)
                s.flush()
                for partner, data in (plan_result.get("funding") or {}).items():
                    s.add(FundingResultRecord(plan_id=plan.id, partner=partner, result=data))
                plans.append(plan.id)
            review = FinanceReview(plan_id=plans[-1], reviewer_id=user_ids["fi"], decision="approve", comment="fine")
            s.add(review)
            s.commit()
            w.ids["plan"] = {"own": plans[-1], "other": plans[-1], "all": plans}
            w.ids["review"] = {"own": review.id, "other": review.id}
    try:  # objects of the job routes' kinds (forecast runs, jobs), made by their owner's module
        import api_world_jobs
    except ModuleNotFoundError:
        pass
    else:
        api_world_jobs.add_objects(w)
    return w


def solve_example_plan() -> dict[str, Any]:
    """The plan runner's result for the bundled small_chain scenario (plan + per-partner funding)."""
    from api.jobs.runners import execute_plan

    return execute_plan({"scenario": scenario_content(), "options": {}, "time_limit": 120}, lambda *_: None)


def copy_sqlite(src_url: str, dst: Path) -> str:
    """A copy of a SQLite database file (a fresh world without rebuilding it)."""
    import sqlite3

    src = sqlite3.connect(src_url.removeprefix("sqlite:///"))
    out = sqlite3.connect(dst)
    src.backup(out)
    src.close()
    out.close()
    return f"sqlite:///{dst}"
