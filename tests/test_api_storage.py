"""Storage: the migrations build the schema on SQLite and PostgreSQL; scenario versions are immutable."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from api.db import Base, make_engine, session_factory
from api.migrate import alembic_config, upgrade
from api.models import PartnerRecord, ScenarioRecord, ScenarioVersion, User

CORE_TABLES = {
    "partners", "users", "api_tokens", "data_uploads", "forecast_submissions", "forecast_runs", "cpfr_exceptions",
    "resolutions", "consensus_versions", "scenarios", "scenario_versions", "plans", "funding_results", "finance_reviews",
}


def test_upgrade_creates_every_table_and_is_repeatable(db_url):
    upgrade(db_url)
    upgrade(db_url)  # already at head: nothing to do, no error
    engine = make_engine(db_url)
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert CORE_TABLES <= tables
        # every table of the ORM exists in the migrated schema, with the same columns
        for table in Base.metadata.sorted_tables:
            assert table.name in tables, f"{table.name} has no migration"
            cols = {c["name"] for c in sa.inspect(engine).get_columns(table.name)}
            assert {c.name for c in table.columns} == cols, table.name
        with engine.connect() as conn:
            from alembic.script import ScriptDirectory

            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == head
    finally:
        engine.dispose()


def test_downgrade_to_base_and_up_again(db_url):
    from alembic import command

    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert not CORE_TABLES & set(sa.inspect(engine).get_table_names())
        upgrade(engine)
        assert CORE_TABLES <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _scenario_with_version(session) -> ScenarioVersion:
    session.add(PartnerRecord(id="p1", name="P1"))
    user = User(name="u", role="planner")
    session.add(user)
    session.flush()
    sc = ScenarioRecord(name="s", created_by_id=user.id, latest_version=1)
    session.add(sc)
    session.flush()
    v = ScenarioVersion(scenario_id=sc.id, version=1, content={"a": 1}, fingerprint="f" * 64, author_id=user.id)
    session.add(v)
    session.commit()
    return v


def test_scenario_versions_are_immutable(migrated_db_url):
    engine = make_engine(migrated_db_url)
    Session = session_factory(engine)
    try:
        with Session() as s:
            v = _scenario_with_version(s)
            vid = v.id
            v.content = {"a": 2}
            with pytest.raises(DBAPIError, match="immutable"):
                s.commit()
            s.rollback()
            with pytest.raises(DBAPIError, match="immutable"):
                s.execute(sa.text("DELETE FROM scenario_versions WHERE id = :i"), {"i": vid})
            s.rollback()
        with Session() as s:
            assert s.get(ScenarioVersion, vid).content == {"a": 1}
            # a second version 1 of the same scenario is refused
            s.add(ScenarioVersion(scenario_id=s.get(ScenarioVersion, vid).scenario_id, version=1, content={},
                                  fingerprint="0" * 64, author_id=s.get(ScenarioVersion, vid).author_id))
            with pytest.raises(IntegrityError):
                s.commit()
    finally:
        engine.dispose()


def test_upload_idempotency_key_unique_per_partner(migrated_db_url):
    from api.models import DataUpload

    engine = make_engine(migrated_db_url)
    try:
        with session_factory(engine)() as s:
            s.add_all([PartnerRecord(id="a", name="A"), PartnerRecord(id="b", name="B")])
            u = User(name="x", role="admin")
            s.add(u)
            s.flush()
            mk = lambda p: DataUpload(partner_id=p, uploader_id=u.id, format="csv", row_count=0, content_hash="h",
                                      idempotency_key="k", request_hash="r", keys=[], rows=[])
            s.add_all([mk("a"), mk("b")])  # the same key for two partners: fine
            s.commit()
            s.add(mk("a"))
            with pytest.raises(IntegrityError):
                s.commit()
    finally:
        engine.dispose()
