"""The ``jointplan`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.markup import escape
from rich.table import Table

from scenarios.io import EXAMPLES_DIR, list_examples, load_scenario, scenario_fingerprint
from scenarios.schema import scenario_json_schema
from scenarios.validation import ScenarioError

from planning.plan import Plan, plan_scenario

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="jointplan: collaborative planning (S&OP / CPFR) for a supply chain and its financiers.",
)
# Tables need ~110 columns; when output is piped rich would otherwise assume 80.
console = Console() if sys.stdout.isatty() else Console(width=110)
err = Console(stderr=True)

EXIT_INVALID = 2
EXIT_NO_PLAN = 3


def _load_or_exit(path: str):
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
    return f"{x:,.0f}"


def print_plan_summary(plan: Plan, currency: str = "") -> None:
    """A short readable summary of a plan on the terminal."""
    colour = "green" if plan.status == "optimal" else ("yellow" if plan.status == "feasible" else "red")
    console.print(
        f"[bold]{plan.scenario_name}[/]: status [{colour}]{plan.status}[/]"
        + (f", objective ({plan.objective_sense}) {_money(plan.objective)} {currency}" if plan.objective is not None else "")
    )
    if plan.diagnosis:
        console.print("[red]Diagnosis[/] (" + plan.diagnosis.get("method", "") + "):")
        fams = plan.diagnosis.get("families") or {}
        if fams:
            console.print("  constraint families involved: " + ", ".join(f"{k} ({v})" for k, v in fams.items()))
        names = plan.diagnosis.get("constraints", [])
        amounts = {r["constraint"]: r["violation"] for r in plan.diagnosis.get("relaxation", [])}
        for c in names[:12]:
            extra = f" must move by {amounts[c]:,.2f}" if c in amounts else ""
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
        f"fill rate {chain['fill_rate']:.1%}, unmet demand {chain['unmet_demand']:,.0f} units"
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


def run_plan(path: str, out: Optional[Path], xlsx: Optional[Path], time_limit, mip_gap, verbose: bool) -> Plan:
    scenario, problems = _load_or_exit(path)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err, transient=True) as prog:
        task = prog.add_task("planning", total=None)
        plan = plan_scenario(
            scenario,
            time_limit=time_limit,
            mip_gap=mip_gap,
            warnings=problems,
            progress=lambda msg: prog.update(task, description=msg),
            verbose=verbose,
        )
    print_plan_summary(plan, scenario.currency)
    if out:
        plan.write_json(out)
        console.print(f"Plan written to {out}")
    if xlsx:
        plan.write_excel(xlsx)
        console.print(f"Workbook written to {xlsx}")
    return plan


@app.command()
def plan(
    scenario: str = typer.Argument(..., help="Scenario file (YAML or JSON) or a bundled example's name"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the plan as JSON here"),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Write the plan's tables to an Excel workbook"),
    time_limit: Optional[float] = typer.Option(None, help="Solver time limit in seconds"),
    mip_gap: Optional[float] = typer.Option(None, help="Relative MIP gap"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show the HiGHS log"),
) -> None:
    """Plan production, transport, inventory and cash for a scenario."""
    result = run_plan(scenario, out, xlsx, time_limit, mip_gap, verbose)
    if result.status not in {"optimal", "feasible"}:
        raise typer.Exit(EXIT_NO_PLAN)


@app.command()
def validate(scenario: str = typer.Argument(..., help="Scenario file or bundled example name")) -> None:
    """Check a scenario and list every problem found."""
    s, problems = _load_or_exit(scenario)
    console.print(f"[green]{scenario}: valid[/] ({s.time.periods} {s.time.freq.value} periods, "
                  f"{len(s.products)} products, {len(s.partners)} partners, {len(s.sites)} sites, {len(s.lanes)} lanes)"
                  + (f", {len(problems)} warning(s)" if problems else ""))
    console.print(f"schema {s.schema_version}, content fingerprint sha256:{scenario_fingerprint(s)[:16]}")


@app.command()
def schema() -> None:
    """Print the scenario JSON Schema."""
    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command()
def examples() -> None:
    """List the bundled example scenarios."""
    for name in list_examples():
        console.print(f"{name}  ({EXAMPLES_DIR / (name + '.yaml')})")


@app.command()
def demo(
    out: Path = typer.Option(Path("demo-output"), "--out", help="Folder for the demo's plan files"),
) -> None:
    """Run the main job on the bundled example: validate and plan the four-partner chain."""
    out.mkdir(parents=True, exist_ok=True)
    path = str(EXAMPLES_DIR / "small_chain.yaml")
    console.rule("jointplan demo: small four-partner chain")
    scenario, _ = _load_or_exit(path)
    console.print(
        f"Validated {path}: {len(scenario.partners)} partners, {len(scenario.sites)} sites, "
        f"{len(scenario.products)} products, {scenario.time.periods} {scenario.time.freq.value} periods"
    )
    result = run_plan(path, out / "small_chain.plan.json", out / "small_chain.plan.xlsx", None, None, False)
    if result.status not in {"optimal", "feasible"}:
        raise typer.Exit(EXIT_NO_PLAN)


def main() -> None:  # console_scripts entry point
    app()


if __name__ == "__main__":
    main()
