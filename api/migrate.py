"""Bring a database to the latest schema: ``upgrade(url_or_engine)`` runs ``alembic upgrade head``
(``python -m api.migrate [URL]`` from the shell)."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from api.db import make_engine

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(url: str | None = None) -> Config:
    """The Alembic configuration shipped with the package (``api/alembic.ini``)."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ALEMBIC_INI.with_name("migrations")))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(target: str | Engine | None = None, revision: str = "head") -> None:
    """Upgrade the database at ``target`` (URL or engine; default the settings' URL) to ``revision``."""
    engine = target if isinstance(target, Engine) else make_engine(target)
    cfg = alembic_config()
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if not isinstance(target, Engine):
            engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    upgrade(sys.argv[1] if len(sys.argv) > 1 else None)
    print("database upgraded to head")
