"""Database engine and sessions (SQLAlchemy 2). SQLite by default, PostgreSQL when
``JOINTPLAN_DATABASE_URL`` points at one."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from api.settings import get_settings


class Base(DeclarativeBase):
    """Declarative base of every table of the service."""


def make_engine(url: str | None = None) -> Engine:
    """An engine for ``url`` (default: the settings' database URL). SQLite gets foreign keys on,
    WAL journalling and a busy timeout so that a worker process and the API can share the file."""
    settings = get_settings()
    url = url or settings.database_url
    # a pool as large as the requests served at once: below that, every burst opens and closes
    # connections (SQLite: the PRAGMAs again; PostgreSQL: a new backend process each time)
    pool = {"pool_size": settings.db_pool_size, "max_overflow": settings.db_pool_size}
    if url.startswith("sqlite"):
        if ":memory:" in url or url.rstrip("/") == "sqlite:":
            pool = {}
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - driver hook
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


@lru_cache
def get_engine() -> Engine:
    return make_engine()


def session_factory(engine: Engine | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=engine or get_engine(), expire_on_commit=False)
