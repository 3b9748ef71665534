"""Scenarios with immutable versions. An edit makes a new version and must name the version it
edits in ``If-Match`` (the ``ETag`` of that version): a stale one gets 412, none 428, so two
planners cannot silently overwrite each other."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import and_, func, select, update
from sqlalchemy.orm import aliased, defer

from api import access
from api.bodies import StrictJSONRoute
from api.deps import AuthorizedUser, PageDep, SessionDep, SettingsDep
from api.errors import CONFLICT, NOT_FOUND, PRECONDITION, commit_or_conflict
from api.models import ScenarioRecord, ScenarioVersion, User
from api.schemas import Out, PageOf, Text
from scenarios.io import parse_scenario, scenario_fingerprint
from scenarios.validation import ScenarioError

router = APIRouter(prefix="/scenarios", tags=["scenarios"], route_class=StrictJSONRoute)

ScenarioId = Annotated[int, Path(ge=1, le=2**31 - 1, description="Scenario id")]
VersionNo = Annotated[int, Path(ge=1, le=2**31 - 1, description="Version number")]
IfMatch = Annotated[str | None, Header(max_length=200, description=(
    "ETag of the version this edit starts from (or `*`: whichever version is current)"))]
ScenarioName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\- ]*$",
                                    description="Scenario name, unique")]


def _example_content() -> dict[str, Any]:
    """The bundled small_chain scenario, as JSON: the documented example of a scenario body."""
    import json

    import yaml

    from scenarios.io import EXAMPLES_DIR

    return json.loads(json.dumps(yaml.safe_load((EXAMPLES_DIR / "small_chain.yaml").read_text()), default=str))


EXAMPLE_CONTENT = _example_content()


class ScenarioCreate(BaseModel):
    """A new scenario: its first version."""

    model_config = {"json_schema_extra": {"examples": [{"name": "base-2027", "content": EXAMPLE_CONTENT,
                                                        "comment": "first draft"}]}}
    name: ScenarioName
    content: dict[str, Any] = Field(description="The scenario (same fields as the YAML/JSON files; `jointplan schema`)")
    comment: Text = Field("", description="What this version is")


class VersionCreate(BaseModel):
    """A new version of a scenario (send If-Match with the ETag of the version edited)."""

    model_config = {"json_schema_extra": {"examples": [{"content": EXAMPLE_CONTENT, "comment": "demand +5% in Q2"}]}}
    content: dict[str, Any] = Field(description="The whole scenario of the new version")
    comment: Text = Field("", description="What changed")


class VersionPublic(Out):
    """A scenario version without its content."""

    scenario_id: int = Field(description="Scenario id")
    version: int = Field(description="Version number (1, 2, ...)")
    fingerprint: str = Field(description="SHA-256 of the canonical scenario content")
    etag: str = Field(description="ETag of this version (send it in If-Match to edit from it)")
    author: str = Field(description="Who made it")
    created_at: datetime = Field(description="When [UTC]")
    comment: str = Field(description="What this version is")
    warnings: list[str] = Field(default_factory=list, description="Non-blocking remarks from the scenario checks")


class VersionDetail(VersionPublic):
    """A scenario version with its content."""

    content: dict[str, Any] = Field(description="The scenario")


class ScenarioPublic(Out):
    """A scenario and its latest version."""

    id: int = Field(description="Scenario id")
    name: str = Field(description="Scenario name")
    created_at: datetime = Field(description="When it was created [UTC]")
    created_by: str = Field(description="Who created it")
    latest_version: int = Field(description="Number of the latest version")
    latest: VersionPublic = Field(description="The latest version")


class Change(BaseModel):
    """One difference between two versions."""

    path: str = Field(description="Field path, e.g. partners[shops].opening_cash (list items by id where they have one)")
    op: str = Field(description="added, removed or changed")
    old: Any = Field(None, description="Value in the first version")
    new: Any = Field(None, description="Value in the second version")


class Diff(BaseModel):
    """What changed from one version to another."""

    scenario_id: int = Field(description="Scenario id")
    from_version: int = Field(description="First version")
    to_version: int = Field(description="Second version")
    changes: list[Change] = Field(description="Every changed field")


ROLES = {"admin", "planner", "finance"}
access.register("POST", "/scenarios", {"admin", "planner"})
access.register("GET", "/scenarios", ROLES, note="partners never see scenarios: they hold every partner's costs")
access.register("GET", "/scenarios/{scenario_id}", ROLES, obj="scenario")
access.register("GET", "/scenarios/{scenario_id}/versions", ROLES, obj="scenario")
access.register("POST", "/scenarios/{scenario_id}/versions", {"admin", "planner"}, obj="scenario")
access.register("POST", "/scenarios/{scenario_id}/from-consensus", {"admin", "planner"}, obj="scenario")
access.register("GET", "/scenarios/{scenario_id}/versions/{version}", ROLES, obj="scenario")
access.register("GET", "/scenarios/{scenario_id}/diff", ROLES, obj="scenario")


def etag(v: ScenarioVersion) -> str:
    return f'"{v.version}-{v.fingerprint}"'


def check_content(content: dict[str, Any], max_periods: int) -> tuple[dict[str, Any], str, list[str]]:
    """The scenario checked (422 naming each field), the content to store, fingerprint and warnings.

    The stored content holds the fields the sender set (canonical values, no defaults written in):
    a later reading (a plan) parses the scenario as sent and gives the same warnings, e.g. that a
    default applies. Responses and diffs show it with every default (:func:`full_content`)."""
    periods = (content.get("time") or {}).get("periods") if isinstance(content.get("time"), dict) else None
    if isinstance(periods, int) and periods > max_periods:
        raise HTTPException(422, detail=[{"field": "body.content.time.periods", "loc": ["body", "content", "time", "periods"],
                                          "msg": f"horizon of {periods} periods above the limit of {max_periods}",
                                          "type": "less_than_equal"}])
    try:
        scenario, problems = parse_scenario(content)
    except ScenarioError as exc:
        errors = [p for p in exc.problems if p.severity == "error"]
        raise HTTPException(422, detail=[{"field": f"body.content.{p.path}", "loc": ["body", "content", *p.path.split(".")],
                                          "msg": p.message, "type": "value_error"} for p in errors]) from None
    return scenario.model_dump(mode="json", exclude_unset=True), scenario_fingerprint(scenario), [str(p) for p in problems]


def full_content(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored version's content with every default filled in (as the API shows it)."""
    from scenarios.schema import Scenario

    return Scenario.model_validate(stored).model_dump(mode="json")


def version_public(v: ScenarioVersion, session, content: bool = False, warnings: list[str] | None = None,
                   author: str | None = None) -> dict:
    """``v`` as the API shows it; ``author`` (the author's name) when the caller has read it already
    (list routes join it: no query per row)."""
    out = {"scenario_id": v.scenario_id, "version": v.version, "fingerprint": v.fingerprint, "etag": etag(v),
           "author": author if author is not None else session.get(User, v.author_id).name,
           "created_at": v.created_at, "comment": v.comment, "warnings": warnings or []}
    if content:
        out["content"] = full_content(v.content)
    return out


_CREATOR, _AUTHOR = aliased(User, name="creator"), aliased(User, name="author")  # made once: aliasing costs


def _version_query(scenario_id: int, version: int | None):
    number = version if version else ScenarioRecord.latest_version
    return (select(ScenarioVersion, User.name).join(ScenarioRecord, ScenarioRecord.id == ScenarioVersion.scenario_id)
            .join(User, User.id == ScenarioVersion.author_id)
            .where(ScenarioVersion.scenario_id == scenario_id, ScenarioVersion.version == number))


def get_version_and_author(session, scenario_id: int, version: int | None = None) -> tuple[ScenarioVersion, str]:
    """A version (default: the latest) and its author's name, in one query; 404 naming the scenario
    or the version when absent."""
    found = session.execute(_version_query(scenario_id, version)).first()
    if found is None:
        if session.get(ScenarioRecord, scenario_id) is None:
            raise access.not_found("scenario", scenario_id)
        raise access.not_found(f"scenario {scenario_id} version", version)
    return found[0], found[1]


def get_version(session, scenario_id: int, version: int | None = None) -> ScenarioVersion:
    return get_version_and_author(session, scenario_id, version)[0]


@router.post("", response_model=VersionDetail, status_code=201, summary="Create a scenario (version 1)",
             responses=CONFLICT)
def create_scenario(body: ScenarioCreate, response: Response, user: AuthorizedUser, session: SessionDep,
                    settings: SettingsDep):
    content, fingerprint, warnings = check_content(body.content, settings.max_horizon_periods)
    if session.scalar(select(ScenarioRecord).where(ScenarioRecord.name == body.name)) is not None:
        raise HTTPException(409, detail=f"name: scenario {body.name!r} already exists")
    sc = ScenarioRecord(name=body.name, created_by_id=user.id, latest_version=1)
    session.add(sc)
    session.flush()
    v = ScenarioVersion(scenario_id=sc.id, version=1, content=content, fingerprint=fingerprint, author_id=user.id,
                        comment=body.comment)
    session.add(v)
    commit_or_conflict(session, f"name: scenario {body.name!r} already exists")
    response.headers["ETag"] = etag(v)
    response.headers["Location"] = f"/scenarios/{sc.id}/versions/1"
    return version_public(v, session, content=True, warnings=warnings)


@router.get("", response_model=PageOf[ScenarioPublic], summary="List scenarios")
def list_scenarios(user: AuthorizedUser, session: SessionDep, page: PageDep):
    total = session.scalar(select(func.count()).select_from(ScenarioRecord))
    creator, author = _CREATOR, _AUTHOR
    # one query for the page: scenarios, their latest versions (without the content) and both names
    rows = session.execute(
        select(ScenarioRecord, ScenarioVersion, creator.name, author.name)
        .join(ScenarioVersion, and_(ScenarioVersion.scenario_id == ScenarioRecord.id,
                                    ScenarioVersion.version == ScenarioRecord.latest_version))
        .join(creator, creator.id == ScenarioRecord.created_by_id)
        .join(author, author.id == ScenarioVersion.author_id)
        .options(defer(ScenarioVersion.content))
        .order_by(ScenarioRecord.id).limit(page.limit).offset(page.offset)
    ).all()
    items = [{"id": sc.id, "name": sc.name, "created_at": sc.created_at, "created_by": created_by,
              "latest_version": sc.latest_version, "latest": version_public(v, session, author=author_name)}
             for sc, v, created_by, author_name in rows]
    return {"items": items, "total": total, "limit": page.limit, "offset": page.offset}


@router.get("/{scenario_id}", response_model=VersionDetail, summary="The latest version of a scenario (with ETag)",
            responses=NOT_FOUND)
def get_scenario(scenario_id: ScenarioId, response: Response, user: AuthorizedUser, session: SessionDep):
    v, author = get_version_and_author(session, scenario_id)
    response.headers["ETag"] = etag(v)
    return version_public(v, session, content=True, author=author)


@router.get("/{scenario_id}/versions", response_model=list[VersionPublic], summary="Every version of a scenario",
            responses=NOT_FOUND)
def list_versions(scenario_id: ScenarioId, user: AuthorizedUser, session: SessionDep):
    if session.get(ScenarioRecord, scenario_id) is None:
        raise access.not_found("scenario", scenario_id)
    rows = session.execute(select(ScenarioVersion, User.name).join(User, User.id == ScenarioVersion.author_id)
                           .where(ScenarioVersion.scenario_id == scenario_id)
                           .options(defer(ScenarioVersion.content)).order_by(ScenarioVersion.version)).all()
    return [version_public(v, session, author=name) for v, name in rows]


@router.post("/{scenario_id}/versions", response_model=VersionDetail, status_code=201,
             summary="Edit: add a new version (If-Match: the ETag of the version edited)",
             responses={**NOT_FOUND, **PRECONDITION})
def add_version(
    scenario_id: ScenarioId,
    body: VersionCreate,
    response: Response,
    user: AuthorizedUser,
    session: SessionDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
):
    current = get_version(session, scenario_id)
    require_current(current, if_match)
    return store_version(session, current, body.content, body.comment, user, settings, response)


def require_current(current: ScenarioVersion, if_match: str | None) -> None:
    """428 without If-Match, 412 when it names neither the ETag of the scenario's current version
    nor ``*`` (RFC 9110 13.1.1: ``*`` matches any current representation, and the scenario exists
    here; a list of ETags matches when one of them does, by strong comparison)."""
    if if_match is None:
        raise HTTPException(428, detail=f"If-Match: required; the current version's ETag is {etag(current)}")
    tags = [t.strip() for t in if_match.split(",") if t.strip()]
    if tags == ["*"]:
        return
    if etag(current) not in tags:
        raise HTTPException(412, detail=f"If-Match: {if_match.strip()} is not the current version "
                                        f"(now {etag(current)}, version {current.version}); reload and reapply the edit")


def store_version(session, current: ScenarioVersion, content: dict[str, Any], comment: str, user: User, settings,
                  response: Response) -> dict[str, Any]:
    """Check ``content`` and store it as version current + 1 (compare-and-set on the scenario's
    latest version, so of two concurrent edits from version n only one becomes n + 1)."""
    scenario_id = current.scenario_id
    content, fingerprint, warnings = check_content(content, settings.max_horizon_periods)
    new_no = current.version + 1
    moved = session.execute(update(ScenarioRecord).where(ScenarioRecord.id == scenario_id, ScenarioRecord.latest_version == current.version)
                            .values(latest_version=new_no)).rowcount
    if moved != 1:
        session.rollback()
        raise HTTPException(412, detail=f"If-Match: version {current.version} was edited meanwhile; reload and reapply")
    v = ScenarioVersion(scenario_id=scenario_id, version=new_no, content=content, fingerprint=fingerprint,
                        author_id=user.id, comment=comment)
    session.add(v)
    commit_or_conflict(session, f"version {new_no} was created meanwhile; reload and reapply")
    response.headers["ETag"] = etag(v)
    response.headers["Location"] = f"/scenarios/{scenario_id}/versions/{new_no}"
    return version_public(v, session, content=True, warnings=warnings)


class FromConsensus(BaseModel):
    """Fill the current version's demand from a consensus version (and optionally set
    safety-stock targets from its P10/P90) as a new version; send If-Match as for an edit."""

    model_config = {"json_schema_extra": {"examples": [{"consensus_version": 1, "quantile": "p50",
                                                        "comment": "demand from consensus v1"}]}}
    consensus_version: int = Field(ge=1, le=2**31 - 1, description="Consensus version whose rows fill the demand")
    quantile: Literal["p10", "p50", "p90"] = Field("p50", description="Consensus column that becomes demand")
    service_level: float | None = Field(None, ge=0.5, lt=1.0, description=(
        "Cycle service level for safety-stock targets from the forecast spread (stores and DCs); none: keep them"))
    comment: Text = Field("", description="What this version is (default: names the consensus version)")


@router.post("/{scenario_id}/from-consensus", response_model=VersionDetail, status_code=201,
             summary="New version with demand from a consensus version (If-Match: the current version's ETag)",
             responses={**NOT_FOUND, **PRECONDITION})
def add_version_from_consensus(
    scenario_id: ScenarioId,
    body: FromConsensus,
    response: Response,
    user: AuthorizedUser,
    session: SessionDep,
    settings: SettingsDep,
    if_match: IfMatch = None,
):
    """Every demand (site, product) of the scenario must have a consensus row for each period:
    a gap is 422 listing every missing series and period, never a silently kept old value. The
    consensus series ids are split into the key columns of the shared history (e.g. product/site).
    Maths of the safety stock: :mod:`forecasting.to_scenario`."""
    import pandas as pd

    from api.models import ConsensusVersion
    from api.store import DatabaseStore
    from api.tables import unprocessable
    from forecasting.to_scenario import ForecastCoverageError
    from forecasting.workflow import fill_scenario

    current = get_version(session, scenario_id)
    require_current(current, if_match)
    cv = session.scalar(select(ConsensusVersion).where(ConsensusVersion.version == body.consensus_version))
    if cv is None:
        raise access.not_found("consensus version", body.consensus_version)
    table = pd.DataFrame.from_records(cv.rows)
    try:
        filled, report = fill_scenario(parse_scenario(current.content)[0], table, keys=DatabaseStore(session).key_columns(),
                                       quantile=body.quantile, service_level=body.service_level)
    except (ForecastCoverageError, ScenarioError, ValueError) as exc:
        if isinstance(exc, ScenarioError):
            problems = [str(p) for p in exc.problems if p.severity == "error"] or [str(exc)]
        else:
            problems = [str(p) for p in getattr(exc, "problems", None) or [exc]]
        raise unprocessable("body.consensus_version", *problems[:50]) from None
    comment = body.comment or f"demand ({body.quantile}) from consensus v{cv.version}" + (
        f", safety stock for {body.service_level:.0%} service" if body.service_level is not None else "")
    out = store_version(session, current, filled.model_dump(mode="json", exclude_unset=True), comment, user, settings,
                        response)
    out["warnings"] = [*out.get("warnings", []), *report.lines()]
    return out


@router.get("/{scenario_id}/versions/{version}", response_model=VersionDetail, summary="One version",
            responses=NOT_FOUND)
def get_one_version(scenario_id: ScenarioId, version: VersionNo, response: Response, user: AuthorizedUser,
                    session: SessionDep):
    v, author = get_version_and_author(session, scenario_id, version)
    response.headers["ETag"] = etag(v)
    return version_public(v, session, content=True, author=author)


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Field-by-field differences; list items are matched by ``id`` when every item has one."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in sorted(set(old) | set(new), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in new:
                out.append({"path": p, "op": "removed", "old": old[k], "new": None})
            elif k not in old:
                out.append({"path": p, "op": "added", "old": None, "new": new[k]})
            else:
                out += diff(old[k], new[k], p)
        return out
    if isinstance(old, list) and isinstance(new, list):
        def by_id(items):
            if items and all(isinstance(i, dict) and "id" in i for i in items):
                ids = [str(i["id"]) for i in items]
                if len(set(ids)) == len(ids):
                    return dict(zip(ids, items))
            return None

        a, b = by_id(old), by_id(new)
        if a is not None and b is not None:
            out = []
            for k in list(a) + [k for k in b if k not in a]:
                p = f"{path}[{k}]"
                if k not in b:
                    out.append({"path": p, "op": "removed", "old": a[k], "new": None})
                elif k not in a:
                    out.append({"path": p, "op": "added", "old": None, "new": b[k]})
                else:
                    out += diff(a[k], b[k], p)
            return out
        if len(old) == len(new) and not all(not isinstance(x, (dict, list)) for x in old + new):
            return [c for i, (x, y) in enumerate(zip(old, new)) for c in diff(x, y, f"{path}[{i}]")]
    return [] if old == new else [{"path": path or "(scenario)", "op": "changed", "old": old, "new": new}]


@router.get("/{scenario_id}/diff", response_model=Diff, summary="Differences between two versions",
            responses=NOT_FOUND)
def diff_versions(
    scenario_id: ScenarioId, user: AuthorizedUser, session: SessionDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1, examples=[1], description="First version")],
    to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1, examples=[2], description="Second version")],
):
    a = get_version(session, scenario_id, from_version)
    b = get_version(session, scenario_id, to_version)
    return {"scenario_id": scenario_id, "from_version": from_version, "to_version": to_version,
            "changes": diff(full_content(a.content), full_content(b.content))}
