"""``jointplan serve --demo``: a demo database to open the web workbench on.

:func:`seed_demo` fills an empty database (default ``./jointplan-demo.db``) with the bundled
``small_chain`` scenario's partners, that scenario stored as scenario ``small_chain`` (version 1,
by the planner), the retailer's shared sales history (``small_chain_history.csv``, uploaded by the
retailer's user) and one user per role (admin, planner, finance and one per partner, the names of
``jointplan demo --via-api``), each with a random password returned to be printed once. The
database is marked as a demo (``service_meta``); started again on it, the demo keeps its data and
gives the demo users new passwords. A database holding anything else is refused.

So that forecast value added (``GET /fva``) has something real to score, the demo also holds
forecasts made *before* the periods they forecast, with the history of those periods after them:

- the statistical forecast the planner had in December 2025: the same method as a fast forecast
  run (``forecasting.engine.forecast_panel``, one method per series class) fitted on the history
  up to November 2025 only, for January 2026 (the first month not begun) to the end of the
  history, stored as a finished forecast run dated 10 December 2025 (then the current one, on the
  whole history for the plan's horizon, which the consensus and the exceptions use);
- the forecasts of the partners whose forecasts the collaboration compares
  (``small_chain_collab.yaml``: the retailer ``shops`` and the wholesaler ``wholesale``; the
  manufacturer and the transporter submit none), as their users submit them: the bundled
  ``small_chain_submissions_<partner>.csv`` rounds (made by ``generate_small_chain_data.py``
  from the seasonal level the history was drawn from, with a fixed seed: the retailer within
  about 5 %, the wholesaler 12-18 % high from its order book), version 1 the round of 15 December
  2025 for 2026, scored against the 2026 history, version 2 the round for 2027 (the plan's
  horizon), dated 15 December 2026 or the seeding time if that is earlier.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from jointplan.demo_story import FORECASTERS, HISTORY_FILE, HISTORY_OWNER, SCENARIO_NAME, SUBMISSIONS_FILE
from scenarios.io import EXAMPLES_DIR

DEMO_KEY = "demo"
DEFAULT_DEMO_DB = "jointplan-demo.db"
STATISTICAL_AS_OF = datetime(2025, 12, 10, 9, 0, tzinfo=timezone.utc)  # fitted on the history before this month
ROUND_TIME = (9, 0)  # a round's submissions: at 09:00 UTC on its day


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
    forecast_run_ids: list[int] = field(default_factory=list)  # the one as of December 2025 first
    submission_ids: list[int] = field(default_factory=list)


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
    from api.models import PartnerRecord, ServiceMeta, User

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
            partners = session.scalar(select(func.count()).select_from(PartnerRecord))
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
    from api.models import DataUpload, ScenarioRecord, ScenarioVersion, User
    from api.routes.scenarios import check_content
    from api.settings import Settings
    from api.tables import digest
    from jointplan.demo_story import add_partners_and_users, people as demo_people, scenario_content
    from scenarios.io import load_scenario

    settings = Settings()
    scenario, _ = load_scenario(str(EXAMPLES_DIR / f"{SCENARIO_NAME}.yaml"))
    people = demo_people(p.id for p in scenario.partners)
    for actor in people.values():
        actor.password = new_password()
    add_partners_and_users(session, scenario, people)
    by_name = {u.name: u for u in session.query(User).all()}
    planner = by_name[people["planner"].name]
    # the bundled scenario, as a planner stores it (POST /scenarios)
    content, fingerprint, _warnings = check_content(json.loads(json.dumps(scenario_content(), default=str)),
                                                    settings.max_horizon_periods)
    sc = ScenarioRecord(name=SCENARIO_NAME, created_by_id=planner.id, latest_version=1)
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
    run_ids = _statistical_runs(session, planner.id, scenario.time.periods) if upload_id is not None else []
    submission_ids = [_submit_rounds(session, pid, by_name[people[pid].name].id)
                      for pid in FORECASTERS if pid in people]
    users = [DemoUser(a.name, a.role, a.partner, a.password) for a in people.values()]
    return Demo(users, seeded=True, scenario_id=sc.id, upload_id=upload_id, forecast_run_ids=run_ids,
                submission_ids=[i for ids in submission_ids for i in ids])


def _statistical_runs(session, planner_id: int, horizon_now: int) -> list[int]:
    """Two finished statistical forecast runs of the planner's, each a fast forecast run's method
    (:func:`forecasting.engine.forecast_panel`, one method per series class) on the history known
    when it was made: the one as of :data:`STATISTICAL_AS_OF` (the history before that month, for
    the next month to the history's last: what FVA scores the partners against), then the current
    one (the whole history, for the ``horizon_now`` months after it: what the consensus and the
    exceptions use, as after ``POST /forecast-runs``)."""
    import pandas as pd

    from api.history import history_frame
    from api.models import utcnow
    from forecasting.history import HistorySpec, prepare_history

    hist = history_frame(session)
    if hist.empty:
        return []
    keys = [c for c in hist.columns if c not in ("date", "quantity")]
    history, cleaning = prepare_history(hist, HistorySpec(keys=keys), freq="M", gaps="zero")
    last = history["ds"].max()
    under_way = pd.Timestamp(STATISTICAL_AS_OF.year, STATISTICAL_AS_OF.month, 1)
    first = under_way + pd.DateOffset(months=1)  # the first month not begun
    ids = []
    back = (last.year - first.year) * 12 + last.month - first.month + 1
    if back >= 1 and (history["ds"] < under_way).any():
        ids.append(_run(session, planner_id, history[history["ds"] < under_way], keys, first, back, STATISTICAL_AS_OF, [
            f"the statistical forecast as of {STATISTICAL_AS_OF.date().isoformat()}: fitted on the history up to "
            f"{(under_way - pd.DateOffset(months=1)).strftime('%Y-%m')} only, for the months not begun (seeded by "
            "jointplan serve --demo, so that forecast value added scores the partners' forecasts against it)",
            *cleaning.lines()]))
    ids.append(_run(session, planner_id, history, keys, last + pd.DateOffset(months=1), horizon_now, utcnow(), [
        "the statistical forecast on the whole history (seeded by jointplan serve --demo)", *cleaning.lines()]))
    return ids


def _run(session, planner_id: int, known, keys: list[str], first, horizon: int, made_at: datetime,
         notes: list[str]) -> int:
    """A finished fast forecast run on the history ``known``, stored from month ``first`` for
    ``horizon`` months (the months between the history's end and ``first`` left out: under way)."""
    from api.jobs.runners import ForecastRunOptions, jsonable, run_records
    from api.models import ForecastRun
    from forecasting.engine import forecast_panel

    gap = (first.year - known["ds"].max().year) * 12 + first.month - known["ds"].max().month - 1
    options = ForecastRunOptions(horizon=horizon, freq="M", fast=True)
    result = forecast_panel(known, gap + horizon, "M", select=False, backend="serial", progress=None, keys=keys)
    summary = dict(result.summary)
    summary["cleaning"] = notes
    summary["series_methods"] = result.series.to_dict(orient="records")
    run = ForecastRun(created_by_id=planner_id, created_at=made_at, finished_at=made_at, status="done",
                      params=options.model_dump(mode="json"), summary=jsonable(summary),
                      **run_records(result.forecasts[result.forecasts["ds"] >= first], result.accuracy))
    session.add(run)
    session.flush()
    return run.id


def _submit_rounds(session, partner_id: str, author_id: int) -> list[int]:
    """The partner's bundled forecast rounds as its submitted versions 1, 2, ... (oldest round
    first), each dated to its round (never later than now); the rows as ``POST /submissions``
    with ``keys=product,site`` stores them."""
    import pandas as pd

    from api.models import ForecastSubmission, utcnow
    from api.store import stored_rows
    from api.tables import digest
    from forecasting.submissions import normalise_forecast_table

    path = EXAMPLES_DIR / SUBMISSIONS_FILE.format(partner_id)
    if not path.is_file():
        return []
    table = pd.read_csv(path, dtype=str)
    ids = []
    for version, (round_day, rows) in enumerate(table.groupby("round", sort=True), start=1):
        day = datetime.fromisoformat(round_day)
        when = min(datetime(day.year, day.month, day.day, *ROUND_TIME, tzinfo=timezone.utc), utcnow())
        data, _ = normalise_forecast_table(rows.drop(columns="round").reset_index(drop=True), keys=["product", "site"])
        stored, keys = stored_rows(data)
        sub = ForecastSubmission(partner_id=partner_id, author_id=author_id, version=version, created_at=when,
                                 note=f"forecast round of {day:%B %Y}", row_count=len(stored),
                                 content_hash=digest(stored), keys=keys, rows=stored)
        session.add(sub)
        session.flush()
        ids.append(sub.id)
    return ids
