"""The service commands: ``jointplan serve [--demo]`` and ``jointplan users
create|list|token|tokens|revoke-token|disable|set-password``, ``jointplan partners create|list|disable|enable``. They use ``JOINTPLAN_DATABASE_URL`` (default: ./jointplan.db)
and bring the database to the latest schema first."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

EXIT_BAD_INPUT = 2


def stop_process(proc, grace: float = 20.0) -> bool:
    """SIGTERM a child process (a ``subprocess.Popen``), SIGKILL it after ``grace`` seconds; True
    when it was running."""
    import subprocess

    if proc is None or proc.poll() is not None:
        return False
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
    return True


def _session(database_url: Optional[str]):
    from api.db import make_engine, session_factory
    from api.migrate import upgrade
    from api.settings import Settings

    engine = make_engine(database_url or Settings().database_url)  # read now, not a cached copy
    upgrade(engine)
    return engine, session_factory(engine)()


def register(app: typer.Typer, console: Console, err: Console) -> None:
    """Add ``serve``, ``users`` and ``partners`` to the ``jointplan`` app."""
    users = typer.Typer(help="Users of the service and their bearer tokens (shown once; stored hashed).", no_args_is_help=True)
    partners = typer.Typer(help="Partners known to the service.", no_args_is_help=True)
    app.add_typer(users, name="users")
    app.add_typer(partners, name="partners")
    db_option = typer.Option(None, "--database-url", help="SQLAlchemy URL (default $JOINTPLAN_DATABASE_URL or ./jointplan.db)")

    def fail(message: str) -> None:
        err.print(f"[bold red]{escape(message)}[/]")
        raise typer.Exit(EXIT_BAD_INPUT)

    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Address to listen on"),
        port: int = typer.Option(8000, min=1, max=65535, help="Port"),
        database_url: Optional[str] = db_option,
        workers: Optional[int] = typer.Option(
            None, "--workers", min=1, max=64,
            help="Worker processes (default: the CPU count); each runs the app on the same database"),
        access_log: bool = typer.Option(True, "--access-log/--no-access-log",
                                        help="A log line per request (about a tenth of a small read's CPU)"),
        demo: bool = typer.Option(
            False, "--demo",
            help="Serve a demo database (default ./jointplan-demo.db, not $JOINTPLAN_DATABASE_URL): seeded with the "
                 "bundled small_chain chain and one user per role, whose passwords are printed; with a job worker"),
        job_worker: Optional[bool] = typer.Option(
            None, "--job-worker/--no-job-worker",
            help="Also run a `jointplan worker` (forecast runs and plans) as a child process (default: with --demo)"),
    ) -> None:
        """Start the API service (migrates the database first). Docs at http://HOST:PORT/docs, the
        web workbench at http://HOST:PORT/app/."""
        import os

        import uvicorn

        from api.migrate import upgrade
        from api.settings import Settings

        settings = Settings()
        if demo:
            from jointplan.demo_seed import default_url

            settings = settings.model_copy(update={"database_url": database_url or default_url()})
        elif database_url:
            settings = settings.model_copy(update={"database_url": database_url})
        workers = workers or os.cpu_count() or 1
        if demo:
            _seed_and_print_demo(settings, host, port)
        else:
            upgrade(settings.database_url)  # once, before any worker starts
        # the workers build the app from the environment (api.app:app_from_environment)
        os.environ["JOINTPLAN_DATABASE_URL"] = settings.database_url
        console.print(f"jointplan service on http://{host}:{port}, {workers} worker(s) "
                      f"(database {escape(_safe(settings.database_url))})")
        job = _start_job_worker(settings.database_url) if (demo if job_worker is None else job_worker) else None
        if job is not None:
            import signal

            def _exit_on_sigterm(signum, _frame):  # uvicorn re-raises the SIGTERM it caught once it has
                raise SystemExit(128 + signum)       # shut down: without a handler `finally` would not run
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        try:
            uvicorn.run("api.app:app_from_environment", factory=True, host=host, port=port, workers=workers,
                        log_level="info", access_log=access_log)
        finally:
            _stop(job)

    def _seed_and_print_demo(settings, host: str, port: int) -> None:
        from jointplan.demo_seed import DemoRefused, seed_demo

        try:
            demo = seed_demo(settings.database_url)
        except DemoRefused as exc:
            fail(f"serve --demo: {_safe(settings.database_url)}: {exc}")
        where = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        t = Table(box=None, padding=(0, 2), title="Demo users (passwords shown only now)", title_justify="left")
        for col in ("user", "role", "partner", "password"):
            t.add_column(col, no_wrap=True, overflow="fold")  # never cut a password short
        for u in demo.users:
            t.add_row(escape(u.name), u.role, escape(u.partner or ""), escape(u.password))
        if demo.seeded:
            console.print(f"Demo database {escape(_safe(settings.database_url))} seeded: the small_chain partners, "
                          "scenario small_chain (version 1), the retailer's sales history, the retailer's and the wholesaler's "
                          "forecast rounds, the statistical forecasts of December 2025 and of now (forecast value added "
                          "scores the December 2025 ones on the 2026 history), one user per role.")
        else:
            console.print(f"Demo database {escape(_safe(settings.database_url))} kept as it was; its users have new passwords.")
        console.print(t)
        if not (settings.web_dist / "index.html").is_file():
            console.print(f"[yellow]The web workbench is not built[/] (no {escape(str(settings.web_dist))}/index.html): "
                          "run `make web` (or `cd web && npm ci && npm run build`); the API docs work without it.",
                          soft_wrap=True)
        console.print(f"Open http://{where}:{port}/app/ and sign in with one of the users above "
                      f"(API docs: http://{where}:{port}/docs).", soft_wrap=True)

    def _start_job_worker(url: str):
        """A ``jointplan worker`` child process on ``url`` (its own process group: Ctrl-C reaches
        the service, which then stops the worker; its running job goes back to the queue)."""
        import os
        import subprocess
        import sys

        proc = subprocess.Popen([sys.executable, "-m", "jointplan", "worker", "--poll", "0.5", "--database-url", url],
                                env={**os.environ, "JOINTPLAN_DATABASE_URL": url}, stdin=subprocess.DEVNULL,
                                start_new_session=True)
        console.print(f"job worker started (pid {proc.pid}): forecast runs and plans are executed")
        return proc

    def _stop(proc) -> None:
        if stop_process(proc):
            console.print(f"job worker (pid {proc.pid}) stopped")

    def read_password(option_given: bool, command: str) -> Optional[str]:
        """The password from standard input (its first line) with ``--password-stdin``, else None;
        checked against the policy before anything is stored. Never printed."""
        import sys

        from api.security import UserError
        from api.web_auth import check_password

        if not option_given:
            return None
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        try:
            return check_password(password)
        except UserError as exc:
            fail(f"{command}: {exc} (read from standard input)")

    password_stdin = typer.Option(False, "--password-stdin",
                                  help="Read a browser sign-in password (10 to 256 characters) from the first line of "
                                       "standard input; it is never printed")

    @users.command("create")
    def users_create(
        name: str = typer.Argument(..., help="Login name"),
        role: str = typer.Option(..., "--role", help="admin, planner, finance or partner"),
        partner: Optional[str] = typer.Option(None, "--partner", help="The partner of a partner user"),
        with_password: bool = password_stdin,
        database_url: Optional[str] = db_option,
    ) -> None:
        """Create a user and print its first token (shown only this once); with --password-stdin
        it can also sign in from a browser."""
        from api.security import UserError, create_user

        password = read_password(with_password, "users create")
        engine, session = _session(database_url)
        try:
            user, token = create_user(session, name, role, partner, password)
            session.commit()
        except UserError as exc:
            fail(f"users create: {exc}")
        finally:
            session.close()
            engine.dispose()
        console.print(f"User {escape(user.name)} ({user.role}{', partner ' + escape(partner) if partner else ''}) created"
                      + (" with a sign-in password" if password is not None else "") + ". Token:")
        print(token)

    @users.command("set-password")
    def users_set_password(
        name: str = typer.Argument(..., help="Login name"),
        with_password: bool = password_stdin,
        database_url: Optional[str] = db_option,
    ) -> None:
        """Set a user's browser sign-in password (read from standard input, or asked for twice at
        a terminal) and end its browser sessions."""
        import sys

        from sqlalchemy import select

        from api.models import User
        from api.security import UserError
        from api.web_auth import check_password, set_password

        if with_password:
            password = read_password(True, "users set-password")
        elif sys.stdin.isatty():
            password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
            try:
                check_password(password)
            except UserError as exc:
                fail(f"users set-password: {exc}")
        else:
            fail("users set-password: give --password-stdin (standard input is not a terminal to ask at)")
        engine, session = _session(database_url)
        try:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                fail(f"users set-password: no user {name!r}")
            ended = set_password(session, user, password)
            session.commit()
        finally:
            session.close()
            engine.dispose()
        console.print(f"Password of {escape(name)} set; {ended} browser session(s) ended")

    @users.command("list")
    def users_list(database_url: Optional[str] = db_option) -> None:
        """List the users."""
        from sqlalchemy import select

        from api.models import ApiToken, User

        engine, session = _session(database_url)
        try:
            t = Table(box=None, padding=(0, 1))
            for col in ("id", "name", "role", "partner", "status", "live tokens", "last used", "password"):
                t.add_column(col)
            for u in session.scalars(select(User).order_by(User.id)):
                live = [k for k in u.tokens if k.revoked_at is None]
                last = max((k.last_used_at for k in u.tokens if k.last_used_at), default=None)
                t.add_row(str(u.id), escape(u.name), u.role, escape(u.partner_id or ""), "disabled" if u.disabled else "active",
                          str(len(live)), f"{last:%Y-%m-%d %H:%M}" if last else "", "set" if u.has_password else "")
            console.print(t)
            _ = ApiToken
        finally:
            session.close()
            engine.dispose()

    @users.command("token")
    def users_token(name: str = typer.Argument(..., help="Login name"), database_url: Optional[str] = db_option) -> None:
        """Issue a new token for a user (printed once; earlier tokens stay valid)."""
        from sqlalchemy import select

        from api.models import User
        from api.security import UserError, issue_token

        engine, session = _session(database_url)
        try:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                fail(f"users token: no user {name!r}")
            try:
                token = issue_token(session, user)  # refused for a disabled user or partner
            except UserError as exc:
                fail(f"users token: {exc}")
            session.commit()
        finally:
            session.close()
            engine.dispose()
        console.print(f"New token for {escape(name)}:")
        print(token)

    @users.command("tokens")
    def users_tokens(name: str = typer.Argument(..., help="Login name"), database_url: Optional[str] = db_option) -> None:
        """List a user's tokens: ids and times (never the tokens themselves)."""
        from sqlalchemy import select

        from api.models import ApiToken, User

        engine, session = _session(database_url)
        try:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                fail(f"users tokens: no user {name!r}")
            t = Table(box=None, padding=(0, 1))
            for col in ("id", "created", "last used", "status"):
                t.add_column(col)
            for k in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)):
                t.add_row(str(k.id), f"{k.created_at:%Y-%m-%d %H:%M}",
                          f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "",
                          f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "live")
            console.print(t)
        finally:
            session.close()
            engine.dispose()

    @users.command("revoke-token")
    def users_revoke_token(
        token_id: Optional[int] = typer.Option(None, "--id", help="Id of the token (jointplan users tokens NAME)"),
        token: Optional[str] = typer.Option(None, "--token", help="The token itself"),
        database_url: Optional[str] = db_option,
    ) -> None:
        """Revoke one token, by its id or by the token itself (the user's other tokens stay valid)."""
        from api.security import UserError, revoke_token

        if (token_id is None) == (token is None):
            fail("users revoke-token: give --id or --token (one of them)")
        engine, session = _session(database_url)
        try:
            try:
                row = revoke_token(session, token_id=token_id, token=token)
            except UserError as exc:
                fail(f"users revoke-token: {exc}")
            session.commit()
            ident, owner = row.id, row.user.name
        finally:
            session.close()
            engine.dispose()
        console.print(f"Token {ident} of {escape(owner)} revoked")

    @users.command("disable")
    def users_disable(name: str = typer.Argument(..., help="Login name"), database_url: Optional[str] = db_option) -> None:
        """Disable a user, revoke its tokens and end its browser sessions."""
        from sqlalchemy import select

        from api.models import User
        from api.security import revoke_tokens
        from api.web_auth import revoke_web_sessions

        engine, session = _session(database_url)
        try:
            user = session.scalar(select(User).where(User.name == name))
            if user is None:
                fail(f"users disable: no user {name!r}")
            user.disabled = True
            n = revoke_tokens(session, user)
            revoke_web_sessions(session, user)
            session.commit()
        finally:
            session.close()
            engine.dispose()
        console.print(f"User {escape(name)} disabled; {n} token(s) revoked")

    @partners.command("create")
    def partners_create(
        partner_id: str = typer.Argument(..., metavar="ID", help="Partner id (as in the scenarios)"),
        name: Optional[str] = typer.Option(None, help="Company name (default: the id)"),
        role: Optional[str] = typer.Option(None, help="manufacturer, wholesaler, transporter or retailer"),
        database_url: Optional[str] = db_option,
    ) -> None:
        """Register a partner."""
        from pydantic import ValidationError

        from api.models import PartnerRecord
        from api.routes.partners import PartnerCreate

        try:
            body = PartnerCreate(id=partner_id, name=name or partner_id, role=role)
        except ValidationError as exc:
            fail("partners create: " + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        engine, session = _session(database_url)
        try:
            if session.get(PartnerRecord, body.id) is not None:
                fail(f"partners create: partner {body.id!r} already exists")
            session.add(PartnerRecord(id=body.id, name=body.name, role=body.role))
            session.commit()
        finally:
            session.close()
            engine.dispose()
        console.print(f"Partner {escape(body.id)} registered")

    @partners.command("list")
    def partners_list(database_url: Optional[str] = db_option) -> None:
        """List the partners."""
        from sqlalchemy import select

        from api.models import PartnerRecord

        engine, session = _session(database_url)
        try:
            for p in session.scalars(select(PartnerRecord).order_by(PartnerRecord.id)):
                console.print(f"{escape(p.id)}  {escape(p.name)}  {p.role or ''}" + ("  disabled" if p.disabled else ""))
        finally:
            session.close()
            engine.dispose()

    def _set_partner_disabled(command: str, partner_id: str, disabled: bool, database_url: Optional[str]) -> None:
        from api.models import PartnerRecord

        engine, session = _session(database_url)
        try:
            partner = session.get(PartnerRecord, partner_id)
            if partner is None:
                fail(f"partners {command}: no partner {partner_id!r}")
            partner.disabled = disabled
            session.commit()
        finally:
            session.close()
            engine.dispose()
        console.print(f"Partner {escape(partner_id)} {command}d")

    @partners.command("disable")
    def partners_disable(partner_id: str = typer.Argument(..., metavar="ID", help="Partner id"),
                         database_url: Optional[str] = db_option) -> None:
        """Disable a partner: its users are refused (403) on every route until it is enabled again."""
        _set_partner_disabled("disable", partner_id, True, database_url)

    @partners.command("enable")
    def partners_enable(partner_id: str = typer.Argument(..., metavar="ID", help="Partner id"),
                        database_url: Optional[str] = db_option) -> None:
        """Enable a disabled partner again (its users' live tokens are accepted again)."""
        _set_partner_disabled("enable", partner_id, False, database_url)


def _safe(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(unparseable url)"
