"""Alembic environment: runs on the connection handed over by :func:`api.migrate.upgrade`, or
on ``sqlalchemy.url`` / ``JOINTPLAN_DATABASE_URL``. SQLite uses batch mode for ALTERs."""

from __future__ import annotations

import importlib

from alembic import context

from api.db import Base, make_engine
from api.settings import get_settings

import api.models  # noqa: F401  (registers the tables on Base.metadata)

try:  # the jobs table, when that module exists
    importlib.import_module("api.jobs.model")
except ModuleNotFoundError:
    pass

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
