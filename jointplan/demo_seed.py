"""``jointplan serve --demo``: a demo database to open the web workbench on.

:func:`seed_demo` fills an empty database (default ``./jointplan-demo.db``) with the bundled
``small_chain`` scenario's partners, that scenario stored as scenario ``small_chain`` (version 1,
by the planner), the retailer's shared sales history (``small_chain_history.csv``, uploaded by the
retailer's user) and one user per role (admin, planner, finance and one per partner, the names of
``jointplan demo --via-api``), each with a random password returned to be printed once. The
database is marked as a demo (``service_meta``); started again on it, the demo keeps its data and
gives the demo users new passwords. A database holding anything else is refused.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from scenarios.io import EXAMPLES_DIR

DEMO_KEY = "demo"
DEFAULT_DEMO_DB = "jointplan-demo.db"
SCENARIO_NAME = "small_chain"
HISTORY_FILE = "small_chain_history.csv"
HISTORY_OWNER = "shops"  # the retailer: its point-of-sale history


class DemoRefused(Exception):
    """The database cannot be made a demo (it holds other data)."""


@dataclass
class DemoUser:
    name: str
    role: str
    partner: str | None
    password: str = field(repr=False)


@dataclass
class Demo:
    """What :func:`seed_demo` did: the users and their passwords, and whether it seeded now."""

    users: list[DemoUser]
    seeded: bool
    scenario_id: int | None = None
    upload_id: int | None = None


def default_url() -> str:
    """The demo database's URL: ``jointplan-demo.db`` in the current directory."""
    return f"sqlite:///{Path(DEFAULT_DEMO_DB).resolve()}"


def new_password() -> str:
    """A random password (16 characters, about 96 bits)."""
    return secrets.token_urlsafe(12)


def seed_demo(url: str) -> Demo:
    """Migrate the database at ``url`` and seed the demo there (see the module docstring); on a
    demo database seeded before, give its users new passwords. :class:`DemoRefused` for a
    database holding data that is not a demo's."""
    from sqlalchemy import func, select

    from api.db import make_engine, session_factory
    from api.migrate import upgrade
    from api.models import Partner, ServiceMeta, User

    engine = make_engine(url)
    try:
        upgrade(engine)
        with session_factory(engine)() as session:
            marker = session.get(ServiceMeta, DEMO_KEY)
            if marker is not None:
                demo = _new_passwords(session, json.loads(marker.value).get("users", []))
                session.commit()
                return demo
            users = session.scalar(select(func.count()).select_from(User))
            partners = session.scalar(select(func.count()).select_from(Partner))
            if users or partners:
                raise DemoRefused(f"the database holds {users} user(s) and {partners} partner(s) and is not a demo "
                                  "database: give --database-url a new database (or none, for ./jointplan-demo.db)")
            demo = _seed(session)
            session.add(ServiceMeta(key=DEMO_KEY, value=json.dumps({
                "scenario": SCENARIO_NAME, "users": [u.name for u in demo.users]})))
            session.commit()
            return demo
    finally:
        engine.dispose()


def _new_passwords(session, names: list[str]) -> Demo:
    from sqlalchemy import select

    from api.models import User
    from api.web_auth import set_password

    out = []
    for user in session.scalars(select(User).where(User.name.in_(names)).order_by(User.id)):
        if user.disabled:
            continue
        password = new_password()
        set_password(session, user, password)
        out.append(DemoUser(user.name, user.role, user.partner_id, password))
    return Demo(out, seeded=False)


def _seed(session) -> Demo:
    from api.history import Limits, check_history, conform_keys, content_hash, key_columns, parse_table, store_upload
    from api.models import DataUpload, Scenario, ScenarioVersion, User
    from api.routes.scenarios import check_content
    from api.settings import Settings
    from api.tables import digest
    from jointplan.demo_api import _people, add_partners_and_users, yaml_content
    from scenarios.io import load_scenario

    settings = Settings()
    scenario, _ = load_scenario(str(EXAMPLES_DIR / f"{SCENARIO_NAME}.yaml"))
    people = _people(p.id for p in scenario.partners)
    for actor in people.values():
        actor.password = new_password()
    add_partners_and_users(session, scenario, people)
    by_name = {u.name: u for u in session.query(User).all()}
    planner = by_name[people["planner"].name]
    # the bundled scenario, as a planner stores it (POST /scenarios)
    content, fingerprint, _warnings = check_content(json.loads(json.dumps(yaml_content(), default=str)),
                                                    settings.max_horizon_periods)
    sc = Scenario(name=SCENARIO_NAME, created_by_id=planner.id, latest_version=1)
    session.add(sc)
    session.flush()
    session.add(ScenarioVersion(scenario_id=sc.id, version=1, content=content, fingerprint=fingerprint,
                                author_id=planner.id, comment="the bundled small_chain scenario (jointplan serve --demo)"))
    # the retailer's shared sales history, as its user uploads it (POST /uploads)
    upload_id = None
    history = EXAMPLES_DIR / HISTORY_FILE
    if history.is_file() and HISTORY_OWNER in people:
        uploader = by_name[people[HISTORY_OWNER].name]
        body = history.read_bytes()
        table = parse_table("text/csv", body, Limits.of(settings))
        hist = conform_keys(check_history(table, "date", "quantity"), key_columns(session))
        upload = DataUpload(partner_id=HISTORY_OWNER, uploader_id=uploader.id, format=table.format,
                            row_count=len(hist.dates), content_hash=content_hash(hist), idempotency_key=None,
                            request_hash=digest([HISTORY_OWNER, "text/csv", body.hex(), "date", "quantity"]),
                            keys=hist.keys, rows=[])
        store_upload(session, upload, hist, staff=False)
        upload_id = upload.id
    session.flush()
    users = [DemoUser(a.name, a.role, a.partner, a.password) for a in people.values()]
    return Demo(users, seeded=True, scenario_id=sc.id, upload_id=upload_id)
