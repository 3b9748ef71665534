"""The ``jointplan`` command line.

Start-up is kept short: this module and the command modules it registers import only typer and
rich; each command imports what it needs (scenarios, the planning model with Pyomo and pandas,
forecasting, the service) when it runs, so ``jointplan --help`` loads none of them
(``benchmarks/startup.py`` measures it, ``tests/test_startup.py`` checks it).
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jointplan.cli_options import fraction, positive, service_level_range
from jointplan.numbers import money, money_exact, num
from planning.status import has_solution
from jointplan.cpfr import register as register_cpfr
from jointplan.finance_cli import plan_command_finance, print_plan_funding
from jointplan.finance_cli import register as register_finance
from jointplan.worker_cli import register as register_worker
from jointplan.service_cli import register as register_service
from jointplan.invoices_cli import register as register_invoices

if TYPE_CHECKING:
    from planning.plan import Plan
    from planning.warm import SavedBasis

class _QuietOnClosedPipe(typer.core.TyperGroup):
    """Stop quietly when stdout is closed early (``jointplan plan X --out y.json | head -1``):
    click would report the broken pipe and exit 1. Commands write their files before printing,
    so the files are there; what is left to print goes nowhere and the exit code is 0."""

    def invoke(self, ctx):  # type: ignore[no-untyped-def]
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _stdout_to_devnull()
            ctx.exit(0)


def _stdout_to_devnull() -> None:
    """Point stdout at the null device so the flush at exit does not raise again."""
    import os

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (tests): nothing to flush
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


class _Console(Console):
    """rich's console, but a closed stdout ends the command quietly with exit 0 (rich's default
    is exit 1): the files were written before anything was printed."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        _stdout_to_devnull()
        raise SystemExit(0)


app = typer.Typer(
    cls=_QuietOnClosedPipe,
    add_completion=False,
    no_args_is_help=True,
    help="jointplan: collaborative planning (S&OP / CPFR) for a supply chain and its financiers.",
)
# Tables need ~110 columns; when output is piped rich would otherwise assume 80.
console = _Console() if sys.stdout.isatty() else _Console(width=110)
err = Console(stderr=True)

EXIT_INVALID = 2
EXIT_NO_PLAN = 3


def _load_or_exit(path: str):
    from scenarios.io import load_scenario
    from scenarios.validation import ScenarioError

    try:
        scenario, problems = load_scenario(path)
    except ScenarioError as exc:
        err.print(f"[bold red]Scenario {path} is not valid[/]: {len([p for p in exc.problems if p.severity == 'error'])} error(s)")
        for p in exc.problems:
            colour = "red" if p.severity == "error" else "yellow"
            err.print(f"  [{colour}]{p.severity}[/] {escape(p.path)}: {escape(p.message)}")
        raise typer.Exit(EXIT_INVALID) from None
    for p in problems:
        err.print(f"  [yellow]warning[/] {escape(p.path)}: {escape(p.message)}")
    return scenario, problems


def _money(x: float) -> str:
    return money(x)


def print_plan_summary(plan: Plan, currency: str = "", gap_priced: bool = True) -> None:
    """A short readable summary of a plan on the terminal: the objective to the currency's minor
    unit, other money in whole units. ``gap_priced`` False (soft cash at funding_gap_rate 0): the
    peak gaps are said to be reported, not priced."""
    colour = "green" if plan.status == "optimal" else ("yellow" if plan.status == "feasible" else "red")
    console.print(
        f"[bold]{plan.scenario_name}[/]: status [{colour}]{plan.status}[/]"
        + (f", objective ({plan.objective_sense}) {money_exact(plan.objective, currency)} {currency}"
           if plan.objective is not None else "")
    )
    if plan.diagnosis:
        console.print("[red]Diagnosis[/] (" + plan.diagnosis.get("method", "") + "):")
        fams = plan.diagnosis.get("families") or {}
        if fams:
            console.print("  constraint families involved: " + ", ".join(f"{k} ({v})" for k, v in fams.items()))
        names = plan.diagnosis.get("constraints", [])
        amounts = {r["constraint"]: r["violation"] for r in plan.diagnosis.get("relaxation", [])}
        for c in names[:12]:
            extra = f" must move by {num(amounts[c], ',.2f')}" if c in amounts else ""
            console.print(f"  constraint {escape(c)}{extra}")
        if len(names) > 12:
            console.print(f"  ... and {len(names) - 12} more (all in the plan JSON)")
        for b in plan.diagnosis.get("bounds", [])[:12]:
            console.print(escape(f"  bound of {b['variable']} [{b['lower']}, {b['upper']}]"))
        if plan.diagnosis.get("note"):
            console.print(f"  {escape(plan.diagnosis['note'])}")
    if not plan.kpis:
        return
    chain = plan.kpis["chain"]
    console.print(
        f"Chain: revenue {_money(chain['revenue'])}, cost {_money(chain['total_cost'])}, "
        f"penalties {_money(sum(chain['penalties'].values()))}, profit {_money(chain['profit'])}; "
        f"fill rate {num(chain['fill_rate'], '.1%')}, unmet demand {num(chain['unmet_demand'])} units"
        + (f"; waste {num(chain['waste_units'])} units (value {_money(chain['waste_value'])}, scrap cost "
           f"{_money(chain['costs'].get('scrap', 0.0))})" if "waste" in plan.tables else "")
    )
    table = Table(title="Partners (money in " + (currency or "currency") + "; @ period)", box=None, padding=(0, 1))
    for col in ("partner", "role", "revenue", "cost", "profit", "end cash", "peak WC", "peak gap"):
        table.add_column(col, justify="right" if col not in {"partner", "role"} else "left", no_wrap=True)
    for a, k in plan.kpis["partners"].items():
        table.add_row(
            escape(a),
            k["role"],
            _money(k["revenue"]),
            _money(sum(k["costs"].values())),
            _money(k["profit"]),
            _money(k["closing_cash"]),
            f"{_money(k['peak_working_capital'])}@{k['peak_working_capital_period']}",
            f"{_money(k['peak_funding_gap'])}@{k['peak_funding_gap_period']}",
        )
    console.print(table)
    if not gap_priced:
        console.print("Peak gap: the shortfall below minimum cash, reported but not priced "
                      "(cash.funding_gap_rate is 0)")
    if plan.binding:
        shown = plan.binding[:8]
        console.print(
            "Binding limits: "
            + ", ".join(escape(b["constraint"]) for b in shown)
            + (f" and {len(plan.binding) - len(shown)} more" if len(plan.binding) > len(shown) else "")
        )
    t = plan.timings
    console.print(
        "Timings: " + ", ".join(f"{k} {v:.2f}s" for k, v in t.items())
    )
    ws = plan.warm_start
    if ws is not None:
        if ws.get("used") and not ws.get("fallback"):
            counts = ", ".join(f"{k} {ws[k]['columns']:,} columns / {ws[k]['rows']:,} rows"
                               for k in ("matched", "new", "dropped"))
            what = "basis" if ws.get("kind") == "basis" else "solution (MIP start)"
            console.print(f"Warm start from {escape(str(ws.get('from')))} ({what}): {counts}; "
                          f"{ws.get('simplex_iterations', 0):,} simplex iterations, {ws.get('solve_s', 0.0):.2f}s")
        else:
            why = ws.get("fallback") or ws.get("reason") or "not used"
            console.print(f"[yellow]Cold solve[/]: the warm start from {escape(str(ws.get('from')))} was not used "
                          f"({escape(why)})")


def _warm_from_option(value: Optional[Path]) -> Optional[tuple]:  # typer reads this signature: no lazy types
    """``--warm-from`` (a click callback: a refusal is a usage error naming the option, exit 2):
    the plan file must exist and hold a basis (written by ``plan --out``). Returns (path, basis)."""
    if value is None:
        return None
    from planning.warm import BasisError, read_plan_basis

    if not value.is_file():
        raise typer.BadParameter(f"{value} does not exist (a plan JSON written by `jointplan plan --out`)")
    try:
        return value, read_plan_basis(str(value))
    except (BasisError, OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{value} holds no usable basis: {exc}") from None


def run_plan(path: str, out: Optional[Path], xlsx: Optional[Path], time_limit, mip_gap, verbose: bool,
             forecast: Optional[Path] = None, service_level: Optional[float] = None, finance: bool = False,
             warm_from: Optional[tuple[Path, SavedBasis]] = None) -> Plan:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from planning.plan import plan_scenario

    scenario, problems = _load_or_exit(path)
    if forecast is not None:
        scenario = _with_forecast(scenario, forecast, service_level)
    warm = {} if warm_from is None else {"warm": warm_from[1], "warm_label": str(warm_from[0])}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True) as prog:
        task = prog.add_task("planning", total=None)
        planner = plan_command_finance if finance else plan_scenario
        plan = planner(
            scenario,
            time_limit=time_limit,
            mip_gap=mip_gap,
            warnings=problems,
            progress=lambda msg: prog.update(task, description=msg),
            verbose=verbose,
            **warm,
        )
    # Files first, then the terminal: a reader that stops early (`| head`) must not cost the files.
    if out:
        plan.write_json(out)
    if xlsx:
        plan.write_excel(xlsx)
    unpriced = scenario.cash.mode.value == "soft" and scenario.cash.funding_gap_rate == 0
    print_plan_summary(plan, scenario.currency, gap_priced=not unpriced)
    if finance:
        print_plan_funding(console, plan)
    if out:
        console.print(f"Plan written to {out}")
    if xlsx:
        console.print(f"Workbook written to {xlsx}")
    return plan


@app.command()
def plan(
    scenario: str = typer.Argument(..., help="Scenario file (YAML or JSON) or a bundled example's name"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the plan as JSON here"),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Write the plan as an Excel report: KPIs per partner and charts, "
                                       "the funding (with --finance), then the tables"),
    time_limit: Optional[float] = typer.Option(None, callback=positive, help="Solver time limit in seconds (> 0)"),
    mip_gap: Optional[float] = typer.Option(None, callback=fraction, help="Relative MIP gap (0 to 1)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the HiGHS log"),
    forecast: Optional[Path] = typer.Option(
        None, "--forecast", help="Fill demand from this forecast or consensus CSV (product, site, date, p10, p50, p90)"
    ),
    service_level: Optional[float] = typer.Option(
        None, callback=service_level_range, help="With --forecast: set safety stock for this cycle service level (0.5 to 0.9999)"
    ),
    finance: bool = typer.Option(
        False, "--finance", help="Plan operations and funding together with the scenario's finance instruments"
    ),
    warm_from: Optional[Path] = typer.Option(
        None, "--warm-from", metavar="OLD_PLAN.json", callback=_warm_from_option,
        help="Start HiGHS from this earlier plan's basis (a plan JSON written by --out; matched by variable "
             "and constraint names, so the scenario may differ); falls back to a cold solve if it cannot be used",
    ),
) -> None:
    """Plan production, transport, inventory and cash for a scenario."""
    # warm_from is (path, basis) here: the option's callback read it
    result = run_plan(scenario, out, xlsx, time_limit, mip_gap, verbose, forecast, service_level, finance,
                      warm_from)  # type: ignore[arg-type]
    if not has_solution(result.status):
        raise typer.Exit(EXIT_NO_PLAN)


def _with_forecast(scenario, forecast: Path, service_level: Optional[float]):
    """The scenario with demand (and safety stock, given a service level) from a forecast file."""
    import pandas as pd

    from forecasting.to_scenario import ForecastCoverageError, apply_forecast_to_scenario
    from scenarios.validation import ScenarioError

    try:
        table = pd.read_csv(forecast)
        filled, report = apply_forecast_to_scenario(scenario, table, safety_stock_service_level=service_level)
    except FileNotFoundError:
        err.print(f"[bold red]Forecast {escape(str(forecast))} not found[/]")
        raise typer.Exit(EXIT_INVALID) from None
    except ForecastCoverageError as exc:
        err.print(f"[bold red]Forecast {escape(str(forecast))} does not cover the scenario[/]")
        for p in exc.problems:
            err.print(f"  {escape(p)}")
        raise typer.Exit(EXIT_INVALID) from None
    except (ValueError, ScenarioError) as exc:
        err.print(f"[bold red]Forecast {escape(str(forecast))} cannot fill the scenario[/]: {escape(str(exc))}")
        raise typer.Exit(EXIT_INVALID) from None
    for line in report.lines():
        console.print(f"  {escape(line)}")
    return filled


@app.command()
def validate(scenario: str = typer.Argument(..., help="Scenario file or bundled example name")) -> None:
    """Check a scenario and list every problem found."""
    from scenarios.io import scenario_fingerprint

    s, problems = _load_or_exit(scenario)
    console.print(f"[green]{scenario}: valid[/] ({s.time.periods} {s.time.freq.value} periods, "
                  f"{len(s.products)} products, {len(s.partners)} partners, {len(s.sites)} sites, {len(s.lanes)} lanes)"
                  + (f", {len(problems)} warning(s)" if problems else ""))
    console.print(f"schema {s.schema_version}, content fingerprint sha256:{scenario_fingerprint(s)[:16]}")


class SchemaOf(str, Enum):
    scenario = "scenario"
    instruments = "instruments"
    cashflows = "cashflows"


@app.command()
def schema(
    of: SchemaOf = typer.Argument(SchemaOf.scenario, help="scenario (default); instruments: the file of `fund "
                                  "--instruments`; cashflows: a row of the CSV `fund` takes"),
) -> None:
    """Print the JSON Schema of a scenario, an instruments file or the cash-flow CSV."""
    if of == SchemaOf.instruments:
        from scenarios.finance import finance_json_schema as json_schema
    elif of == SchemaOf.cashflows:
        from finance.cashflows import cashflows_json_schema as json_schema
    else:
        from scenarios.schema import scenario_json_schema as json_schema
    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")


@app.command()
def examples() -> None:
    """List the bundled example scenarios (and, apart, the other bundled files with what they are)."""
    from scenarios.io import EXAMPLES_DIR, list_example_files, list_examples

    console.print("Example scenarios (give the name to plan, validate, compare-finance):")
    for name in list_examples():
        console.print(f"  {name}  ({EXAMPLES_DIR / (name + '.yaml')})")
    others = list_example_files()
    if others:
        console.print("Other bundled files (not scenarios):")
        for name, kind in others:
            console.print(f"  {escape(name)}: {escape(kind)}  ({EXAMPLES_DIR / name})")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the demo's files (its store is made anew)"),
    fast: bool = typer.Option(False, "--fast", help="Forecast without the model competition"),
    via_api: bool = typer.Option(
        False, "--via-api", help="Run it through the service: starts the service and a job worker in this process "
        "on loopback (database in --out) and walks every step over HTTP as the role that does it"
    ),
) -> None:
    """Run the main job on the bundled example: shared history, forecast, CPFR, consensus, plan, funding."""
    if via_api:
        from jointplan.demo_api import run_demo_via_api

        run_demo_via_api(out, fast, console, err)
        return
    from jointplan.demo import run_demo

    run_demo(out, fast, console, err)


register_cpfr(app, console, err)
register_finance(app, console, err)
register_worker(app, console, err)
register_service(app, console, err)
register_invoices(app, console, err)


def main() -> None:  # console_scripts entry point
    app()


if __name__ == "__main__":
    main()
