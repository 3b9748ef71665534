"""The demo's story, written once: who takes part and what they bring, for the three ways it is
told: ``jointplan demo`` (files, :mod:`jointplan.demo`), ``jointplan demo --via-api`` (the
service, :mod:`jointplan.demo_api`) and ``jointplan serve --demo`` (a database to open the web
workbench on, :mod:`jointplan.demo_seed`).

The bundled ``small_chain`` scenario's partners: the retailer (``shops``) shares its point-of-sale
history; the retailer and the wholesaler submit forecast rounds (the partners whose forecasts
``small_chain_collab.yaml`` compares); the planner resolves the retailer's Q4 promotion at
store-north, builds the weighted consensus and fills the scenario's demand and safety stock (95 %
cycle service) with it; the plan and its funding follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from scenarios.io import EXAMPLES_DIR

SCENARIO_NAME = "small_chain"
SCENARIO_FILE = EXAMPLES_DIR / f"{SCENARIO_NAME}.yaml"
COLLAB_FILE = EXAMPLES_DIR / "small_chain_collab.yaml"
# planning with finance against plan-then-fund: on the chain whose credit is tight (small_chain's
# lines are roomy, so there the joint plan is the sequential one)
FINANCE_SCENARIO_NAME = "credit_chain"
FINANCE_SCENARIO_FILE = EXAMPLES_DIR / f"{FINANCE_SCENARIO_NAME}.yaml"
HISTORY_FILE = "small_chain_history.csv"
HISTORY_OWNER = "shops"  # the retailer: its point-of-sale history
FORECASTERS = ("shops", "wholesale")  # the partners whose forecasts small_chain_collab.yaml compares
SUBMISSIONS_FILE = "small_chain_submissions_{}.csv"  # column round: the day the round was submitted
FREQ = "M"
CONSENSUS_RULE = "weighted"
SERVICE_LEVEL = 0.95
# the exception the planner resolves: the retailer's Q4 promotion, confirmed in the S&OP meeting
PROMO_SERIES, PROMO_RULE, PROMO_SOURCE = "widget/store-north", "retailer-vs-statistical", "shops"
PROMO_REASON = "Q4 promotion at store-north confirmed in the S&OP meeting"
PARTNER_USERS = {"shops": "ana@cornershops", "wholesale": "li@centralwholesale", "maker": "mo@acme",
                 "haul": "hal@swifthaulage"}


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


def people(partner_ids: Iterable[str]) -> dict[str, Actor]:
    """One admin, planner and finance user, and one user per partner (keyed by partner id)."""
    out = {
        "admin": Actor("admin", "admin"),
        "planner": Actor("pia@planning", "planner"),
        "finance": Actor("fin@treasury", "finance"),
    }
    for pid in partner_ids:
        out[pid] = Actor(PARTNER_USERS.get(pid, f"user@{pid}"), "partner", pid)
    return out


def add_partners_and_users(session, scenario, actors: dict[str, Actor]) -> None:
    """Register ``scenario``'s partners and create ``actors`` with their first tokens (and their
    browser sign-in ``password``, when an actor has one), with the code behind ``jointplan
    partners create`` and ``jointplan users create``; flushed, not committed."""
    from api.models import PartnerRecord
    from api.routes.partners import PartnerCreate
    from api.security import create_user

    for p in scenario.partners:
        body = PartnerCreate(id=p.id, name=p.name or p.id, role=p.role.value if hasattr(p.role, "value") else p.role)
        session.add(PartnerRecord(id=body.id, name=body.name, role=body.role))
    session.flush()
    for actor in actors.values():
        _user, actor.token = create_user(session, actor.name, actor.role, actor.partner, actor.password)
    session.flush()


def scenario_content() -> dict[str, Any]:
    """The bundled scenario as plain data (what a planner would send)."""
    import yaml

    return yaml.safe_load(SCENARIO_FILE.read_text())
