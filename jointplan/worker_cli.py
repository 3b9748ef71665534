"""``jointplan worker``: run the service's queued jobs (forecast runs and plan solves)."""

from __future__ import annotations

import signal
from typing import List, Optional

import typer
from rich.console import Console
from rich.markup import escape

from jointplan.cli_options import number


def register(app: typer.Typer, console: Console, err: Console) -> None:
    """Add the ``worker`` command to the ``jointplan`` app."""

    @app.command()
    def worker(
        once: bool = typer.Option(False, "--once", help="Run the queued jobs, then exit when the queue is empty"),
        poll: float = typer.Option(1.0, "--poll", callback=number(ge=0.05, le=60.0), help="Seconds between looks at an empty queue (0.05 to 60)"),
        scheduler: Optional[str] = typer.Option(
            None, "--scheduler", envvar="JOINTPLAN_DASK_SCHEDULER",
            help="Dask scheduler address: run the jobs on that cluster (default: in a child process here)",
        ),
        database_url: Optional[str] = typer.Option(
            None, "--database-url", envvar="JOINTPLAN_DATABASE_URL", help="The service's database (SQLAlchemy URL)"
        ),
        kind: Optional[List[str]] = typer.Option(None, "--kind", help="Only jobs of this kind (plan, forecast, at_risk); repeatable"),
        lease: Optional[float] = typer.Option(
            None, "--lease", callback=number(ge=1.0), help="Lease seconds: a job not renewed this long is given to another worker"
        ),
        max_jobs: Optional[int] = typer.Option(None, "--max-jobs", min=1, help="Exit after this many jobs"),
    ) -> None:
        """Claim and run jobs from the service's database until stopped (Ctrl-C or SIGTERM gives the
        running job back to the queue)."""
        from api.db import make_engine
        from api.jobs.worker import Worker
        from api.migrate import upgrade
        from api.settings import get_settings

        bad = sorted(set(kind or []) - {"plan", "forecast", "at_risk"})
        if bad:
            err.print(f"[bold red]--kind[/]: unknown job kind(s) {', '.join(map(escape, bad))} (plan, forecast, at_risk)")
            raise typer.Exit(2)
        settings = get_settings()
        url = database_url or settings.database_url
        engine = make_engine(url)
        upgrade(engine)

        def on_term(_signum, _frame):
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, on_term)
        w = Worker(engine, settings=settings, scheduler=scheduler, kinds=kind or None, lease_seconds=lease,
                   echo=lambda m: err.print(escape(m)))
        where = f"Dask scheduler {scheduler}" if w.scheduler else "child processes"
        err.print(f"worker {escape(w.worker_id)} on {escape(engine.url.render_as_string(hide_password=True))}, "
                  f"jobs run in {escape(where)}" + (" (until the queue is empty)" if once else ""))
        try:
            n = w.run(once=once, poll=poll, max_jobs=max_jobs)
        except KeyboardInterrupt:
            err.print("worker stopped")
            raise typer.Exit(130) from None
        finally:
            engine.dispose()
        err.print(f"{n} job(s) processed")
