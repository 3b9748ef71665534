"""``jointplan invoices verify``: recompute the invoices' hash chain of a service database and
report the first broken link, or "intact, N events" (:func:`api.invoices.verify_chain`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

EXIT_BROKEN = 1
EXIT_BAD_INPUT = 2


def register(app: typer.Typer, console: Console, err: Console) -> None:
    """Add ``invoices verify`` to the ``jointplan`` app."""
    invoices = typer.Typer(help="Invoices between partners and their hash-chained history.", no_args_is_help=True)
    app.add_typer(invoices, name="invoices")

    @invoices.command("verify")
    def verify(
        database_url: Optional[str] = typer.Option(
            None, "--database-url", "--database",
            help="SQLAlchemy URL of the service's database (default $JOINTPLAN_DATABASE_URL or ./jointplan.db)"),
        anchor: Optional[str] = typer.Option(
            None, "--anchor", metavar="SEQ:HASH",
            help="A head printed by an earlier verification: it must still be in the chain (detects events "
                 "removed from the chain's end, or the chain rewritten)"),
        as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
    ) -> None:
        """Recompute every event's hash and link and replay the events against the invoice rows.
        Exit 0 when intact, 1 at the first broken link (printed: event, invoice, what differs),
        2 when the database cannot be read. Reads only: the database is not migrated."""
        import sqlalchemy as sa

        from api.db import make_engine, session_factory
        from api.invoices import verify_chain
        from api.settings import Settings
        from jointplan.service_cli import _safe

        head = None
        if anchor is not None:
            m = re.fullmatch(r"(\d{1,18}):([0-9a-f]{64})", anchor.strip())
            if m is None:
                err.print("[bold red]--anchor: expected SEQ:HASH, e.g. 42:<64 hex digits> (the head a verification printed)[/]")
                raise typer.Exit(EXIT_BAD_INPUT)
            head = (int(m.group(1)), m.group(2))
        url = database_url or Settings().database_url
        db = sa.engine.make_url(url)
        if db.drivername.startswith("sqlite") and db.database and db.database != ":memory:" \
                and not Path(db.database).is_file():
            err.print(f"[bold red]invoices verify: no database file {escape(db.database)}[/]")
            raise typer.Exit(EXIT_BAD_INPUT)
        engine = make_engine(url)
        try:
            try:
                tables = set(sa.inspect(engine).get_table_names())
            except sa.exc.SQLAlchemyError as exc:
                err.print(f"[bold red]invoices verify: cannot read {escape(_safe(url))}: "
                          f"{escape(str(exc).splitlines()[0])}[/]")
                raise typer.Exit(EXIT_BAD_INPUT) from None
            if not {"invoices", "invoice_events", "invoice_lines"} <= tables:
                err.print(f"[bold red]invoices verify: {escape(_safe(url))} has no invoice tables (a service database "
                          "migrated to 0010_invoices: `jointplan serve` migrates it)[/]")
                raise typer.Exit(EXIT_BAD_INPUT)
            with session_factory(engine)() as session:
                report = verify_chain(session, anchor=head)
        finally:
            engine.dispose()
        if as_json:
            print(json.dumps(report.as_dict(), indent=2))
        elif report.intact:
            console.print(f"{report.message()}, {report.invoices} invoices; head {report.head_seq}:{report.head_hash}",
                          soft_wrap=True)
        else:
            err.print(f"[bold red]{escape(report.message())}[/]", soft_wrap=True)
            console.print(f"last intact link {report.head_seq}:{report.head_hash}", soft_wrap=True)
        if not report.intact:
            raise typer.Exit(EXIT_BROKEN)
