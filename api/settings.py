"""Service settings, read from the environment (prefix ``JOINTPLAN_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of the service; each can be set as ``JOINTPLAN_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="JOINTPLAN_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{Path('jointplan.db').resolve()}",
        description="SQLAlchemy URL; a SQLite file by default, e.g. postgresql+psycopg://user@host/db in production",
    )
    dask_scheduler: str | None = Field(
        default=None, description="address of a Dask scheduler; when set, jobs run on the Dask cluster"
    )
    db_pool_size: int = Field(
        default=20, gt=0, description="database connections each service process keeps open (as many more may be "
                                      "opened for a burst); at least the concurrent requests a process serves"
    )
    max_body_bytes: int = Field(default=20_000_000, gt=0, description="largest accepted request body, bytes (413 above)")
    max_upload_columns: int = Field(
        default=32, gt=2, description="most columns in one uploaded history table (422 above, checked on the header)")
    max_upload_rows: int = Field(
        default=250_000, gt=0, description="most data rows in one history upload or submission (413 above)")
    max_upload_cells: int = Field(
        default=2_500_000, gt=0, description="most cells (rows x columns) in one history upload or submission (413 above)")
    max_page_size: int = Field(default=200, gt=0, description="largest page a list route returns")
    default_page_size: int = Field(default=50, gt=0, description="page size when none is asked for")
    max_horizon_periods: int = Field(default=520, gt=0, description="largest scenario or forecast horizon, periods")
    job_max_attempts: int = Field(default=3, gt=0, description="a job failing this many times is marked failed")
    job_lease_seconds: float = Field(
        default=30.0, gt=0, description="a running job whose worker has not renewed its lease for this long is re-queued"
    )
    token_touch_seconds: float = Field(
        default=60.0, ge=0, description="a token's last use is written when the stored one is older than this, "
                                        "seconds (0: on every request); reads then cost no write"
    )
    solver_time_limit: float = Field(default=600.0, gt=0, description="default solver time limit per plan job, seconds")
    # browser sign-in (POST /auth/login): a session cookie with a CSRF token
    session_hours: float = Field(
        default=8.0, gt=0, le=24 * 30, description="a browser session ends this many hours after sign-in, however used")
    session_idle_minutes: float = Field(
        default=60.0, gt=0, description="a browser session unused for this many minutes ends")
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="failed sign-ins are counted over this many minutes")
    login_max_failures_per_name: int = Field(
        default=5, gt=0, description="failed sign-ins of one name within the window before further tries get 429 "
                                     "(a successful sign-in of that name starts its count again)")
    login_max_failures_per_address: int = Field(
        default=20, gt=0, description="failed sign-ins from one client address within the window before further "
                                      "tries get 429")
    web_dist: Path = Field(
        default=Path(__file__).resolve().parent.parent / "web" / "dist",
        description="the built web workbench (index.html and its assets), served at /app")


@lru_cache
def get_settings() -> Settings:
    return Settings()
