"""The funding commands: ``fund`` (size a plan's or a cash forecast's funding) and
``compare-finance`` (joint against sequential planning, and the reverse-factoring what-if),
``value-of-integration`` (the two over a grid: :mod:`finance.integration_value`), plus
what ``plan --finance`` and ``demo`` use (:func:`plan_command_finance`, :func:`print_plan_funding`,
:func:`print_funding`, :func:`print_comparison`, :func:`print_whatif`).

Exit codes as elsewhere: 2 bad input (the message names the field), 3 no funding possible (the
diagnosis says which partner is short, when and by how much).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Sequence

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jointplan.cli_options import number, positive
from jointplan.numbers import money, num
from planning.status import has_solution

if TYPE_CHECKING:  # imported where used: registering the commands imports no finance module
    from scenarios.finance import FinanceSpec, FundingObjective

EXIT_INVALID = 2
EXIT_NOT_FUNDED = 3

_consoles: dict[str, Console] = {}


def _err() -> Console:
    return _consoles.get("err") or Console(stderr=True)


def _fail(message: str, problems: Sequence[Any] = (), code: int = EXIT_INVALID) -> None:
    err = _err()
    err.print(f"[bold red]{escape(message)}[/]")
    for p in problems:
        sev = getattr(p, "severity", "error")
        colour = "red" if sev == "error" else "yellow"
        if hasattr(p, "path"):
            err.print(f"  [{colour}]{sev}[/] {escape(p.path)}: {escape(p.message)}")
        else:
            err.print(f"  {escape(str(p))}")
    raise typer.Exit(code)


def _money(x: Any) -> str:
    return money(x)


def _days(x: Any) -> str:
    return num(x, ".0f")


# ---------------------------------------------------------------------------------------------
# Printing
# ---------------------------------------------------------------------------------------------


def print_funding(console: Console, result: Any, *, title: str | None = None) -> None:
    """A readable summary of a :class:`finance.sizing.FundingResult`: status, per-partner peak
    need, debt, cost, rates, headroom and working-capital days, the instrument mix, the diagnosis."""
    from finance.instruments import drawn_note

    ok = has_solution(result.status)
    colour = "green" if result.status == "optimal" else ("yellow" if ok else "red")
    cur = result.currency or "currency"
    head = f"[bold]{escape(title or result.name or 'funding')}[/]: status [{colour}]{result.status}[/]"
    tot = result.kpis.get("total", {})
    if tot:
        head += (f", net financing cost {_money(tot.get('net_financing_cost'))} {cur}"
                 f" (interest {_money(tot.get('interest'))}, fees {_money(tot.get('fees'))}, "
                 f"deposit interest {_money(tot.get('deposit_interest'))})")
    console.print(head)
    if result.diagnosis and result.diagnosis.get("message") and result.diagnosis.get("message") != "funded":
        console.print(f"[red]Cannot be funded[/]: {escape(result.diagnosis['message'])}")
        if result.diagnosis.get("note"):
            console.print(f"  {escape(result.diagnosis['note'])}")
    partners = result.kpis.get("partners", {})
    if not partners:
        return
    table = Table(title=f"Funding per partner ({cur}; @ period; EAR effective annual rate of interest and fees; "
                        "headroom: least cash above the minimum; days outstanding)", box=None, padding=(0, 1))
    for col in ("partner", "peak need", "peak debt", "int.+fees", "net cost", "EAR", "headroom",
                "DSO", "DIO", "DPO", "CCC", "short"):
        table.add_column(col, justify="left" if col == "partner" else "right", no_wrap=True)
    for a, k in partners.items():
        ear = k.get("effective_annual_rate")
        table.add_row(
            escape(a),
            f"{_money(k['peak_funding_need'])}@{k['peak_funding_need_period']}",
            f"{_money(k['peak_debt'])}@{k['peak_debt_period']}",
            _money(k["financing_cost"]),
            _money(k["net_financing_cost"]),
            num(ear, ".2%"),
            _money(k["min_cash_headroom"]),
            _days(k.get("days_sales_outstanding")),
            _days(k.get("days_inventory_outstanding")),
            _days(k.get("days_payables_outstanding")),
            _days(k.get("cash_conversion_cycle_days")),
            f"[red]{_money(k['peak_shortfall'])}@{k['peak_shortfall_period']}[/]" if k.get("peak_shortfall", 0) > 1e-6 else "-",
        )
    console.print(table)
    mix = Table(title="Instrument mix", box=None, padding=(0, 1))
    for col in ("partner", "instrument", "type", "drawn", "peak balance", "end balance", "interest", "fees", "min headroom"):
        mix.add_column(col, justify="left" if col in ("partner", "instrument", "type") else "right", no_wrap=True)
    rows = 0
    for a, k in partners.items():
        for n, i in k.get("instruments", {}).items():
            drawn = _money(i["drawn"]) + drawn_note(i["type"])  # a payment brought forward is not borrowing
            mix.add_row(escape(a), escape(n), i["type"], drawn, _money(i["peak_balance"]),
                        _money(i["ending_balance"]), _money(i["interest"]), _money(i["fees"]), _money(i.get("min_headroom")))
            rows += 1
    if rows:
        console.print(mix)
    for a, k in partners.items():  # the price of not paying early, for every early-payment discount
        for n, i in k.get("instruments", {}).items():
            if i.get("forgone_discount_simple_rate") is not None:
                console.print(f"  {escape(a)} {escape(n)} ({escape(str(i.get('terms', '')))}): forgoing the discount "
                              f"costs {num(i['forgone_discount_simple_rate'], '.2%')} a year simple, "
                              f"{num(i['forgone_discount_effective_rate'], '.2%')} effective "
                              f"({i.get('forgone_discount_days_per_year', 365)}-day year)")


def print_plan_funding(console: Console, plan: Any) -> None:
    """The funding part of a plan made with ``--finance`` (after the plan summary)."""
    from finance.extension import funding_result_of

    if not plan.kpis.get("finance"):
        if plan.diagnosis:
            console.print("[red]No plan can be funded[/]" + (f": {escape(plan.diagnosis.get('message', ''))}" if plan.diagnosis.get("message") else ""))
        return
    print_funding(console, funding_result_of(plan), title=f"Funding chosen with the plan ({plan.scenario_name})")


def _num(x: Any, fmt: str = "{:,.0f}") -> str:
    return num(x, fmt[2:-1])  # "{:spec}" -> spec


def print_comparison(console: Console, comparison: Any) -> None:
    """Sequential against joint: operating profit, financing cost, chain profit, fill rate; when
    the joint plan earns more, what it does differently (the explanation's sentences)."""
    seq, joint, diff = comparison.sequential, comparison.joint, comparison.difference or {}
    table = Table(title=f"Joint vs sequential planning, {escape(comparison.scenario)} ({comparison.currency})",
                  box=None, padding=(0, 1))
    for col in ("", "sequential", "joint", "joint - sequential"):
        table.add_column(col, justify="left" if not col else "right", no_wrap=True)
    table.add_row("status", seq.status, joint.status, "")
    table.add_row("operating profit", _num(seq.operating_profit), _num(joint.operating_profit), _num(diff.get("operating_profit"), "{:+,.0f}"))
    table.add_row("financing cost", _num(seq.financing_cost), _num(joint.financing_cost), _num(diff.get("financing_cost"), "{:+,.0f}"))
    table.add_row("chain profit after financing", _num(seq.chain_profit), _num(joint.chain_profit), _num(diff.get("chain_profit"), "{:+,.0f}"))
    table.add_row("fill rate", _num(seq.fill_rate, "{:.1%}"), _num(joint.fill_rate, "{:.1%}"), _num(diff.get("fill_rate"), "{:+.2%}"))
    console.print(table)
    colour = "red" if not (seq.funded and joint.funded) else "green"
    console.print(f"[{colour}]{escape(comparison.message)}[/]")
    explanation = getattr(comparison, "explanation", None)
    if explanation is not None and (comparison.difference or {}).get("chain_profit", 0.0) > 0.005:
        console.print("What the joint plan does differently:")
        for sentence in explanation.sentences:
            console.print(f"  - {escape(sentence)}")


def print_whatif(console: Console, whatif: Any) -> None:
    progs = ", ".join(f"{p['buyer']} -> {p['supplier']} ({p['instrument']})" for p in whatif.programmes)
    suppliers = sorted({p["supplier"] for p in whatif.programmes})
    table = Table(title=f"Reverse-factoring what-if: programme {escape(progs)} ({whatif.currency})", box=None, padding=(0, 1))
    for col in ("mode", "programme", "status", *[f"{s} financing cost" for s in suppliers], "chain financing cost",
                "chain profit", "fill rate"):
        table.add_column(escape(col), justify="left" if col in ("mode", "programme", "status") else "right", no_wrap=True)
    for r in whatif.rows:
        table.add_row(r["mode"], r["programme"], r["status"],
                      *[_num(r["supplier_financing_cost"].get(s)) for s in suppliers],
                      _num(r["chain_financing_cost"]), _num(r["chain_profit"]), _num(r["fill_rate"], "{:.1%}"))
    console.print(table)
    for mode in dict.fromkeys(r["mode"] for r in whatif.rows):
        w, wo = whatif.row(mode, "with"), whatif.row(mode, "without")
        for s in suppliers:
            a, b = w["supplier_financing_cost"].get(s), wo["supplier_financing_cost"].get(s)
            if a is not None and b is not None:
                console.print(f"  {mode}: the programme changes {escape(s)}'s financing cost by {num(a - b, '+,.0f')} "
                              f"and the chain's profit by {num((w['chain_profit'] or 0) - (wo['chain_profit'] or 0), '+,.0f')}")
            elif a is not None:
                console.print(f"  {mode}: without the programme {escape(s)} cannot be funded")


# ---------------------------------------------------------------------------------------------
# Helpers the plan and demo commands call
# ---------------------------------------------------------------------------------------------


def plan_command_finance(scenario: Any, **kwargs: Any):
    """``plan_scenario``'s stand-in for ``jointplan plan --finance``: plans operations and funding
    together with the scenario's finance section (same keyword arguments as ``plan_scenario``).
    A scenario without instruments, or bad instruments, prints the problems and exits 2."""
    from finance.extension import plan_with_finance
    from scenarios.finance import FinanceError

    try:
        return plan_with_finance(scenario, **kwargs)
    except FinanceError as exc:
        _fail("Cannot plan with finance", exc.problems)


# ---------------------------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------------------------


def _load_spec(path: Path) -> FinanceSpec:
    from scenarios.finance import FinanceError, load_finance_spec

    try:
        return load_finance_spec(path)
    except FinanceError as exc:
        _fail(f"Instruments {path} are not valid", exc.problems)


def _objective(value: Optional[str]) -> Optional[FundingObjective]:
    from scenarios.finance import FundingObjective

    if value is None:
        return None
    try:
        return FundingObjective(value)
    except ValueError:
        _fail(f"--objective: '{value}' is not one of {', '.join(o.value for o in FundingObjective)}")


NO_INSTRUMENTS = "No funding sized: no instruments were given (--instruments FINANCE.yaml sizes the funding)"


def print_working_capital(console: Console, metrics: dict[str, Any], *, title: str = "Working capital") -> None:
    """DSO, DIO, DPO and the cash conversion cycle per partner (finance.sizing.working_capital_metrics)."""
    table = Table(title=f"{escape(title)} (days outstanding; {metrics['days_per_period']:.1f} days a period)",
                  box=None, padding=(0, 1))
    for col in ("partner", "DSO", "DIO", "DPO", "CCC"):
        table.add_column(col, justify="left" if col == "partner" else "right", no_wrap=True)
    for a, k in metrics["partners"].items():
        table.add_row(escape(a), _days(k["days_sales_outstanding"]), _days(k["days_inventory_outstanding"]),
                      _days(k["days_payables_outstanding"]), _days(k["cash_conversion_cycle_days"]))
    console.print(table)


def _working_capital_only(console: Console, table: Any, periods_per_year: Optional[int], source: str,
                          out: Path) -> None:
    """``fund CASHFLOWS.csv`` without ``--instruments``: the working-capital metrics, no funding."""
    from finance.sizing import working_capital_metrics

    metrics = working_capital_metrics(table, periods_per_year)
    payload = {"source": source, "status": "not_sized", "funded": None, "message": NO_INSTRUMENTS,
               "working_capital": metrics}
    out.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    print_working_capital(console, metrics, title=f"Working capital of {source}")
    console.print(f"[yellow]{escape(NO_INSTRUMENTS)}[/]")
    console.print(f"Working capital written to {out}")


def _scenario_and_spec(scenario: str, instruments: Path | None, err: Console) -> tuple[Any, FinanceSpec | None]:
    """The scenario (exit 2 naming its problems; its warnings printed) and the instruments file
    when one is given (None: the scenario's finance section)."""
    from scenarios.io import load_scenario
    from scenarios.validation import ScenarioError

    try:
        scn, problems = load_scenario(scenario)
    except ScenarioError as exc:
        _fail(f"Scenario {scenario} is not valid", exc.problems)
    for p in problems:
        err.print(f"  [yellow]warning[/] {escape(p.path)}: {escape(p.message)}")
    return scn, (_load_spec(instruments) if instruments is not None else None)


def register(app: typer.Typer, console: Console, err: Console) -> None:
    """Add ``fund``, ``compare-finance`` and ``value-of-integration`` to the ``jointplan`` app."""
    _consoles["err"] = err

    @app.command()
    def fund(
        source: str = typer.Argument(..., metavar="PLAN.json|CASHFLOWS.csv",
                                     help="A plan written by `jointplan plan --out`, or a cash-flow CSV "
                                          "(partner, period, operating_cash_flow, and optionally receivables, inventory, ...)"),
        out: Path = typer.Option(..., "--out", "-o", help="Write the funding (tables, KPIs, diagnosis) as JSON here"),
        instruments: Optional[Path] = typer.Option(
            None, "--instruments", "-i",
            help="Finance spec YAML (partners and their instruments); for a plan, defaults to its scenario's finance section"),
        xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Also write a workbook for the finance team "
                                                                 "(with the plan's summary and tables when funding a plan)"),
        receivables: Optional[Path] = typer.Option(
            None, help="With a CSV: receivables ageing CSV (partner, period, customer, age_days or age_bucket, amount)"),
        payables: Optional[Path] = typer.Option(
            None, help="With a CSV: payments due per supplier CSV (partner, period, supplier, amount)"),
        periods_per_year: Optional[int] = typer.Option(None, min=1, max=366, help="With a CSV: 12 monthly, 52 weekly"),
        objective: Optional[str] = typer.Option(None, help="min_cost or max_ending_cash (default: the spec's)"),
        time_limit: Optional[float] = typer.Option(None, callback=positive, help="Solver time limit in seconds (> 0)"),
        at_risk: bool = typer.Option(False, "--at-risk", help="With a plan: also the funding need under demand "
                                     "uncertainty (needs --scenario and --quantiles or --cv)"),
        scenario: Optional[str] = typer.Option(None, "--scenario", help="With --at-risk: the plan's scenario (file or "
                                               "bundled example name)"),
        scenarios: int = typer.Option(200, "--scenarios", min=1, max=10_000, help="With --at-risk: demand scenarios"),
        seed: int = typer.Option(0, "--seed", min=0, help="With --at-risk: random seed (same seed, same scenarios)"),
        quantiles: Optional[Path] = typer.Option(None, "--quantiles", help="With --at-risk: P10/P50/P90 CSV (the "
                                                 "consensus table: unique_id, ds, p10, p50, p90)"),
        cv: Optional[float] = typer.Option(None, "--cv", callback=number(ge=0), help="With --at-risk and no quantiles: "
                                           "coefficient of variation of demand around the scenario's (normal)"),
        correlation: float = typer.Option(0.0, "--correlation", callback=number(ge=0, le=1),
                                          help="With --at-risk: correlation of demand across periods (0 .. 1)"),
        frozen_periods: Optional[int] = typer.Option(None, "--frozen-periods", min=1, help="With --at-risk: periods "
                                                     "whose decisions stay as planned (default all; after them the "
                                                     "plan is re-made per scenario)"),
        workers: int = typer.Option(1, "--workers", min=1, max=64, help="With --at-risk: worker processes"),
    ) -> None:
        """Size each partner's funding of a plan or a cash forecast at the lowest cost; with
        --at-risk, also its distribution when demand differs from the forecast."""
        from finance.cashflows import cashflows_from_plan, plan_dict, read_cashflows_csv
        from scenarios.finance import FinanceError, parse_finance_spec
        from finance.sizing import size_funding
        from planning.plan import json_default
        from planning.workbook import write_workbook

        obj = _objective(objective)
        path = Path(source)
        suffix = path.suffix.lower()
        if at_risk:
            if suffix != ".json":
                _fail("--at-risk needs a plan (.json) and its scenario: a cash-flow table has no demand to vary")
            if scenario is None:
                _fail("--at-risk needs --scenario: the scenario the plan was made from")
            if (quantiles is None) == (cv is None):
                _fail("--at-risk needs one of --quantiles F.csv (P10/P50/P90) or --cv X (a coefficient of variation)")
        elif any(x is not None for x in (scenario, quantiles, cv, frozen_periods)):
            _fail("--scenario, --quantiles, --cv and --frozen-periods go with --at-risk")
        data = None  # the plan, when funding one: its summary and tables go into the workbook too
        try:
            if suffix == ".json":
                data = plan_dict(path)
                table = cashflows_from_plan(data)
                if instruments is not None:
                    spec = _load_spec(instruments)
                elif data.get("finance"):
                    try:
                        spec = parse_finance_spec(data["finance"])
                    except FinanceError as exc:
                        _fail(f"The instruments recorded in {path} (finance) are not valid", exc.problems)
                else:
                    _fail(f"--instruments is required: {path} does not record any instruments "
                          "(its scenario has no finance section); give --instruments FINANCE.yaml")
            elif suffix == ".csv":
                table = read_cashflows_csv(path, receivables=receivables, payables_due=payables,
                                           periods_per_year=periods_per_year)
                if instruments is None:  # the working-capital days need no instruments
                    _working_capital_only(console, table, periods_per_year, source, out)
                    return
                spec = _load_spec(instruments)
            else:
                _fail(f"{source}: expected a plan (.json) or a cash-flow table (.csv)")
            if (periods_per_year is not None and spec.periods_per_year is not None
                    and periods_per_year != spec.periods_per_year):
                where = f"the instruments file {instruments}" if instruments is not None else f"the instruments recorded in {path}"
                _fail(f"--periods-per-year {periods_per_year} conflicts with periods_per_year: {spec.periods_per_year} "
                      f"in {where}; give one of them, or the same value in both")
            result = size_funding(table, spec, objective=obj, time_limit=time_limit)
            risk = None
            if at_risk:
                risk = _at_risk(data, spec, scenario, quantiles=quantiles, cv=cv, correlation=correlation,
                                scenarios=scenarios, seed=seed, objective=obj, time_limit=time_limit,
                                frozen_periods=frozen_periods, workers=workers)
        except FinanceError as exc:
            _fail(f"Cannot size the funding of {source}", exc.problems)
        for w in result.warnings:
            err.print(f"  [yellow]warning[/] {escape(w.path)}: {escape(w.message)}")
        written = []  # files first, then the terminal (a reader that stops early must not cost the files)
        if result.kpis or result.diagnosis:
            payload = result.to_dict()
            if risk is not None:
                payload["at_risk"] = risk.to_dict()
            out.write_text(json.dumps(payload, indent=2, default=json_default, allow_nan=False), encoding="utf-8")
            written.append(f"Funding written to {out}" + (" (with its at_risk section)" if risk is not None else ""))
            if xlsx and result.tables:
                write_workbook(xlsx, data, {**payload, **({"mode": "sized"} if data is not None else {})})
                written.append(f"Workbook written to {xlsx}")
        print_funding(console, result)
        if risk is not None:
            print_at_risk(console, risk.to_dict())
        for line in written:
            console.print(line)
        if not result.funded:
            diag = result.diagnosis or {}
            _fail(f"No funding possible ({result.status})" + (f": {diag['message']}" if diag.get("message") else ""),
                  code=EXIT_NOT_FUNDED)

    @app.command("compare-finance")
    def compare_finance(
        scenario: str = typer.Argument(..., help="Scenario file (YAML or JSON) or a bundled example's name"),
        instruments: Optional[Path] = typer.Option(
            None, "--instruments", "-i", help="Finance spec YAML; defaults to the scenario's finance section"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the comparison and what-if as JSON here"),
        whatif: bool = typer.Option(True, "--whatif/--no-whatif", help="Also run the reverse-factoring what-if"),
        time_limit: Optional[float] = typer.Option(None, callback=positive, help="Solver time limit in seconds per solve (> 0)"),
    ) -> None:
        """Joint planning (operations and funding together) against sequential planning (plan,
        then fund), and the scenario with and without its buyers' reverse-factoring programmes."""
        from finance.compare import joint_vs_sequential, reverse_factoring_whatif
        from scenarios.finance import FinanceError

        scn, spec = _scenario_and_spec(scenario, instruments, err)
        try:
            comparison = joint_vs_sequential(scn, spec, time_limit=time_limit)
        except FinanceError as exc:
            _fail(f"Cannot compare planning with and without finance for {scenario}", exc.problems)
        print_comparison(console, comparison)
        payload: dict[str, Any] = {"comparison": comparison.to_dict()}
        has_rf = any(i.type == "reverse_factoring" for pf in (spec or _spec_of(scn)).partners for i in pf.instruments)
        if whatif and has_rf:
            w = reverse_factoring_whatif(scn, spec, comparison=comparison, time_limit=time_limit)
            print_whatif(console, w)
            payload["reverse_factoring_whatif"] = w.to_dict()
        elif whatif:
            console.print("No reverse-factoring programme in the instruments: what-if skipped.")
        if out:
            out.write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
            console.print(f"Comparison written to {out}")
        if not comparison.joint.funded and not comparison.sequential.funded:
            raise typer.Exit(EXIT_NOT_FUNDED)

    @app.command("value-of-integration")
    def value_of_integration_command(
        scenario: str = typer.Argument(..., help="Scenario file (YAML or JSON) or a bundled example's name"),
        instruments: Optional[Path] = typer.Option(
            None, "--instruments", "-i", help="Finance spec YAML; defaults to the scenario's finance section"),
        limit_share: str = typer.Option("0.25,0.5,0.75,1,1.5", "--limit-share", help="Credit limits to try, as shares "
                                        "of each partner's peak funding need under plan-then-fund (comma-separated; "
                                        "'scenario': the limits as written)"),
        rate: str = typer.Option("scenario", "--rate", help="Credit-line interest rates to try, a year (0.08 = 8 %; "
                                 "comma-separated; 'scenario': as written)"),
        buyer_terms: str = typer.Option("scenario", "--buyer-terms", help="Payment terms of the largest buyer to try, "
                                        "in periods from invoice to payment (comma-separated; 'scenario': as written)"),
        buyer: Optional[str] = typer.Option(None, "--buyer", help="With --buyer-terms: this partner instead of the "
                                            "largest buyer"),
        demand: str = typer.Option("1", "--demand", help="Demand levels to try, as multiples of the scenario's "
                                   "(comma-separated)"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the table here: .csv (one row a point) "
                                           "or .json (settings, summary, rows)"),
        workbook: Optional[Path] = typer.Option(None, "--workbook", help="Write the table and its chart as .xlsx"),
        chart: Optional[Path] = typer.Option(None, "--chart", help="Write the chart as .svg"),
        workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (each runs a contiguous "
                                    "part of the grid, warm-started within it)"),
        warm: bool = typer.Option(True, "--warm/--cold", help="Start each point's solves from the previous point's"),
        time_limit: Optional[float] = typer.Option(None, callback=positive, help="Solver time limit in seconds per solve (> 0)"),
    ) -> None:
        """What planning operations and funding together is worth: plan-then-fund against the joint
        plan over a grid of credit limits, line rates, the largest buyer's terms and demand levels;
        per point both chain profits after financing, the difference, fill rates, whether
        plan-then-fund could be funded at all, and the time the point took."""
        from finance.integration_value import Grid, value_of_integration
        from scenarios.finance import FinanceError

        grid = Grid(limit_share=_grid_axis("--limit-share", limit_share, float),
                    rate=_grid_axis("--rate", rate, float),
                    buyer_terms=_grid_axis("--buyer-terms", buyer_terms, int),
                    demand=_grid_axis("--demand", demand, float, allow_scenario=False), buyer=buyer)
        for opt, path, suffixes in (("--out", out, (".csv", ".json")), ("--workbook", workbook, (".xlsx",)),
                                    ("--chart", chart, (".svg",))):
            if path is not None and path.suffix.lower() not in suffixes:
                _fail(f"{opt} {path}: expected a {' or '.join(suffixes)} file")
        scn, spec = _scenario_and_spec(scenario, instruments, err)
        n = len(grid.points())

        def say(done: int, total: int, row: dict) -> None:
            err.print(f"  point {done}/{total} ({escape(_point_label(row))}): {row.get('seconds', 0.0):.2f} s"
                      + ("" if row.get("warm_started_joint") else " (cold)"))

        err.print(f"{n} grid point(s) on {workers} worker process(es)")
        try:
            study = value_of_integration(scn, grid, spec, workers=workers, time_limit=time_limit, warm=warm, progress=say)
        except FinanceError as exc:
            _fail(f"Cannot run the value-of-integration study on {scenario}",
                  [_as_option(p) for p in exc.problems])
        payload = study.to_dict()
        written = []
        if out is not None:
            if out.suffix.lower() == ".csv":
                study.table().to_csv(out, index=False)
            else:
                out.write_text(json.dumps(payload, indent=2, default=str, allow_nan=False), encoding="utf-8")
            written.append(f"Table written to {out}")
        if workbook is not None:
            from planning.workbook import integration_workbook

            integration_workbook(payload).save(workbook)
            written.append(f"Workbook written to {workbook}")
        if chart is not None:
            from jointplan.integration_chart import study_svg

            chart.parent.mkdir(parents=True, exist_ok=True)
            chart.write_text(study_svg(payload), encoding="utf-8")
            written.append(f"Chart written to {chart}")
        print_integration(console, payload)
        for line in written:
            console.print(line)
        if not study.invariants_hold:
            _fail("An invariant failed at some point (joint below plan-then-fund, or cash not conserved): "
                  "see the joint_not_worse and conserved columns", code=EXIT_INVARIANT)


OPTION_OF = {"limit_share": "--limit-share", "rate": "--rate", "buyer_terms": "--buyer-terms", "demand": "--demand",
             "buyer": "--buyer", "workers": "--workers", "grid": "the grid"}
EXIT_INVARIANT = 4


def _as_option(p: Any) -> Any:
    """A study problem named by its command-line option."""
    from scenarios.fields import Problem

    name = OPTION_OF.get(getattr(p, "path", ""))
    return Problem(name, p.message, p.severity) if name else p


def _grid_axis(option: str, text: str, kind: type, *, allow_scenario: bool = True) -> tuple:
    """A comma-separated grid axis: numbers (``kind``), and 'scenario' for the value as written."""
    values: list[Any] = []
    for part in text.split(","):
        part = part.strip()
        if allow_scenario and part.lower() == "scenario":
            values.append(None)
            continue
        try:
            v = float(part)
        except ValueError:
            _fail(f"{option}: {part!r} is not a number" + (" (or 'scenario')" if allow_scenario else ""))
        if kind is int:
            if not math.isfinite(v) or v != int(v):
                _fail(f"{option}: {part!r} is not a whole number of periods")
            v = int(v)
        values.append(v)
    return tuple(values)


def _point_label(r: dict) -> str:
    parts = [f"limit {r['limit_share']:.0%}" if r.get("limit_share") is not None else "limit as written"]
    if r.get("rate") is not None:
        parts.append(f"rate {r['rate']:.1%}/yr")
    if r.get("buyer_terms") is not None:
        parts.append(f"terms {r['buyer_terms']}")
    if r.get("demand") not in (None, 1.0):
        parts.append(f"demand x{r['demand']:g}")
    return ", ".join(parts)


def print_integration(console: Console, study: dict[str, Any]) -> None:
    """The study's table: per point plan-then-fund and joint profit after financing, the gain and
    fill rates (an axis with one value is said in the title, not repeated per row); then the
    summary and the checks."""
    cur = study.get("currency") or "currency"
    st = study.get("settings") or {}
    rows = study.get("rows") or []
    axes = [("demand", "demand", lambda v: num(v, "g")),
            ("buyer_terms", "terms", lambda v: "as written" if v is None else str(v)),
            ("rate", "rate/yr", lambda v: "as written" if v is None else num(v, ".1%")),
            ("limit_share", "limit", lambda v: "as written" if v is None else num(v, ".0%"))]
    varied = [a for a in axes if len({r.get(a[0]) for r in rows}) > 1 or a[0] == "limit_share"]
    fixed = [f"{label} {fmt(rows[0].get(key))}" for key, label, fmt in axes if rows and (key, label, fmt) not in varied]
    table = Table(title=f"Value of planning with finance: {escape(study.get('scenario', ''))} ({cur})"
                        + (f"; {', '.join(fixed)}" if fixed else ""), box=None, padding=(0, 1))
    for col in [label for _, label, _ in varied] + ["peak need", "plan+fund", "joint", "gain", "fill p+f", "fill joint"]:
        table.add_column(col, justify="right", no_wrap=True)
    for r in rows:
        seq = _money(r.get("sequential_chain_profit")) if r.get("sequential_funded") else "[red]not funded[/]"
        table.add_row(*[fmt(r.get(key)) for key, _, fmt in varied], _money(r.get("peak_need")), seq,
                      _money(r.get("joint_chain_profit")) if r.get("joint_funded") else "[red]not funded[/]",
                      _money(r.get("gain")) if r.get("gain") is not None else "-",
                      num(r.get("sequential_fill_rate"), ".1%"), num(r.get("joint_fill_rate"), ".1%"))
    console.print(table)
    sm = study.get("summary") or {}
    console.print("  plan+fund = plan operations ignoring financing, then fund that plan at least cost; gain = joint - "
                  "plan+fund, in profit after financing; peak need = plan+fund's, the base of the limit")
    if st.get("buyer"):
        console.print(f"  buyer whose terms vary: {escape(st['buyer'])} (pays {escape(', '.join(st.get('buyer_sellers') or []))})")
    console.print(f"  plan+fund cannot be funded at {sm.get('sequential_not_funded')} of {sm.get('points')} points; "
                  f"the joint plan is strictly better at {sm.get('joint_strictly_better')}"
                  + (f"; largest gain {_money(sm.get('largest_gain'))} {cur}" if sm.get("largest_gain") else ""))
    ok = sm.get("joint_not_worse_everywhere") and sm.get("conserved_everywhere")
    console.print("  checks: joint >= plan+fund where it is funded, and cash conserved in both: "
                  + ("[green]hold at every point[/]" if ok else "[red]FAIL somewhere[/]"))
    t = study.get("timings") or {}
    console.print(f"  {t.get('per_point', 0.0):.2f} s a point ({t.get('points', 0.0):.1f} s for the grid; "
                  f"{sm.get('warm_started_joint')} joint solves warm-started)")


def _at_risk(plan: dict, spec: Any, scenario_path: str, *, quantiles: Optional[Path], cv: Optional[float],
             correlation: float, **options: Any) -> Any:
    """``fund --at-risk``: load the scenario and the uncertainty, run the scenarios with a
    progress bar on stderr (:func:`finance.at_risk.funding_at_risk`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from finance.at_risk import funding_at_risk, read_quantiles_csv, uncertainty_from_cv, uncertainty_from_quantiles
    from scenarios.io import load_scenario
    from scenarios.validation import ScenarioError

    try:
        scn, _problems = load_scenario(scenario_path)
    except ScenarioError as exc:
        _fail(f"Scenario {scenario_path} is not valid", exc.problems)
    if quantiles is not None:
        u = uncertainty_from_quantiles(scn, read_quantiles_csv(quantiles), correlation=correlation,
                                       source=f"quantiles {quantiles}")
    else:
        u = uncertainty_from_cv(scn, cv, correlation=correlation)
    with Progress(TextColumn("demand scenarios"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=_err(), transient=True) as prog:
        task = prog.add_task("at risk", total=options["scenarios"])
        return funding_at_risk(scn, plan, u, spec, progress=lambda done, total: prog.update(task, completed=done),
                               **options)


def print_at_risk(console: Console, risk: dict[str, Any]) -> None:
    """The at-risk table: per partner P50/P90/P95 of the peak need, the chance the committed
    lines are not enough, the expected financing cost, against the point plan."""
    st = risk["settings"]
    cur = risk.get("currency") or "currency"
    table = Table(title=f"Funding at risk ({cur}; {st['scenarios']} demand scenarios, seed {st['seed']}, "
                        f"{escape(st['uncertainty']['source'])}; frozen periods {st['frozen_periods']} of {st['periods']})",
                  box=None, padding=(0, 1))
    for col in ("partner", "point need", "P50 need", "P90 need", "P95 need", "P(lines short)", "mean cost", "point cost"):
        table.add_column(col, justify="left" if col == "partner" else "right", no_wrap=True)
    for r in risk["partners"]:
        table.add_row(escape(r["partner"]), _money(r["point_peak_need"]), _money(r["peak_need_p50"]),
                      _money(r["peak_need_p90"]), _money(r["peak_need_p95"]),
                      num(r["probability_lines_not_enough"], ".1%"), _money(r["expected_financing_cost"]),
                      _money(r["point_financing_cost"]))
    console.print(table)
    check = st.get("point_check") or {}
    if check and not check.get("reproduces_plan"):
        console.print(f"  [yellow]note[/]: on the forecast's own demand the sales rule sells "
                      f"{num(check.get('units_sold_differently'), ',.0f')} units differently from the plan (the plan "
                      "holds stock back, e.g. backlogging to keep a safety stock); the scenarios include that difference")
    t = risk.get("timings", {})
    console.print(f"  need = peak over the horizon of max(0, minimum cash - cash before financing); "
                  f"{t.get('per_scenario', 0) * 1000:,.0f} ms a scenario")


def _spec_of(scenario: Any) -> FinanceSpec:
    from scenarios.finance import FinanceSpec, finance_spec_from_scenario

    return finance_spec_from_scenario(scenario) or FinanceSpec()
