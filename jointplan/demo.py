"""``jointplan demo``: the demo's story (:mod:`jointplan.demo_story`) from files, with the same
code as the ``forecast``, ``submit``, ``exceptions``, ``resolve``, ``consensus``, ``plan``,
``fund`` and ``compare-finance`` commands (the last on ``credit_chain``, the bundled chain whose
credit is tight). Each step is a function titled by its docstring, run in :data:`STEPS` order and
numbered as it runs; a step may end the story early (no plan, no finance section). The plan's
workbook is written once at the end, with the plan's funding when it was sized.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import typer
from rich.console import Console
from rich.markup import escape

from jointplan import demo_story as story
from scenarios.io import EXAMPLES_DIR

AS_OF = (("2025-12-15", "2026-01-01"), ("2026-12-15", None))  # statistical forecasts: (made on, history before)
PLANNER = "planner@acme"


@dataclass
class DemoRun:
    """What the steps share: where the files go, and what earlier steps made."""

    out: Path
    fast: bool
    console: Console
    err: Console
    store: Path = field(init=False)
    facts: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.store = self.out / "store"

    @property
    def history_file(self) -> Path:
        return EXAMPLES_DIR / story.HISTORY_FILE

    @property
    def consensus_scenario(self) -> Path:
        return self.out / f"{story.SCENARIO_NAME}.consensus.yaml"


def history(d: DemoRun) -> bool:
    """Shared sales history (Corner Shops' point-of-sale data)"""
    from jointplan import cpfr

    d.facts["history"], _ = cpfr.read_history(d.err, str(d.history_file), story.FREQ, None, "date", "quantity", None,
                                              "zero", console=d.console)
    return True


def forecast(d: DemoRun) -> bool:
    """Statistical forecast (model competition per series)"""
    from forecasting import workflow
    from forecasting.store import FileStore
    from jointplan import cpfr
    from jointplan.cli import _load_or_exit

    hist = d.facts["history"]
    keys = cpfr.history_keys(hist)
    horizon = _load_or_exit(str(story.SCENARIO_FILE))[0].time.periods
    store = FileStore(d.store)
    for as_of, cutoff in AS_OF:
        part = hist if cutoff is None else hist[hist["ds"] < cutoff]
        d.console.print(f"Forecast as of {as_of} from {part['ds'].min():%b %Y} - {part['ds'].max():%b %Y}:")
        result = cpfr.run_forecast(part, horizon, story.FREQ, select=not d.fast, keys=keys)
        saved = workflow.save_statistical_run(store, result, author="jointplan", submitted_at=as_of)
        if cutoff is None:
            cpfr.forecast_output(result.forecasts, keys).to_csv(d.out / "forecast.csv", index=False)
            if not d.fast:
                cpfr.print_wins(d.console, result)
        d.console.print(f"  kept as statistical version {saved.version}")
    d.console.print(f"Forecast written to {d.out / 'forecast.csv'}")
    return True


def submissions(d: DemoRun) -> bool:
    """Partners submit their own forecasts"""
    import pandas as pd

    from forecasting import workflow
    from forecasting.store import FileStore

    store = FileStore(d.store)
    for partner in story.FORECASTERS:
        author = story.PARTNER_USERS[partner]
        table = pd.read_csv(EXAMPLES_DIR / story.SUBMISSIONS_FILE.format(partner))
        for round_date, rows in table.groupby("round", sort=True):
            sub = workflow.submit_forecast(store, partner, rows.drop(columns="round"), author=author,
                                           submitted_at=round_date, keys=["product", "site"])
            d.console.print(f"  {partner} version {sub.version}: {sub.rows} series-periods submitted {round_date} "
                            f"by {author}")
    return True


def exceptions(d: DemoRun) -> bool:
    """CPFR exceptions"""
    import pandas as pd

    from forecasting import workflow
    from forecasting.consensus import Resolution
    from forecasting.store import FileStore
    from jointplan import cpfr

    exc = cpfr.run_exceptions(d.err, story.COLLAB_FILE, d.store, str(d.history_file), story.FREQ, None)
    cpfr.print_exceptions(d.console, exc, 12)
    exc.to_csv(d.out / "exceptions.csv", index=False)
    promo = exc[(exc["unique_id"] == story.PROMO_SERIES) & (exc["rule"] == story.PROMO_RULE)]
    if not promo.empty:
        periods = sorted(pd.to_datetime(promo["ds"]).dt.date.unique())
        res = workflow.record_resolution(FileStore(d.store), Resolution(
            action="accept_source", source=story.PROMO_SOURCE, unique_id=story.PROMO_SERIES, ds=periods,
            author=PLANNER, reason=story.PROMO_REASON, exception_id=str(promo["exception_id"].iloc[0]),
        ))
        d.console.print(f"Resolution {res.id}: accept {story.PROMO_SOURCE}' forecast for {story.PROMO_SERIES} in "
                        + ", ".join(f"{p:%b %Y}" for p in periods) + " (Q4 promotion confirmed)")
    return True


def consensus(d: DemoRun) -> bool:
    """Consensus demand plan"""
    from jointplan import cpfr

    cpfr.consensus_step(d.console, d.err, d.store, d.out / "consensus.csv", rule=story.CONSENSUS_RULE,
                        history_file=str(d.history_file), freq=story.FREQ, scenario=str(story.SCENARIO_FILE),
                        scenario_out=d.consensus_scenario, service_level=story.SERVICE_LEVEL)
    return True


def plan(d: DemoRun) -> bool:
    """Joint plan on the consensus"""
    from jointplan.cli import EXIT_NO_PLAN, run_plan
    from planning.status import has_solution

    d.facts["plan"] = result = run_plan(str(d.consensus_scenario), d.out / f"{story.SCENARIO_NAME}.plan.json", None,
                                        None, None, False)
    if not has_solution(result.status):
        raise typer.Exit(EXIT_NO_PLAN)
    return True


def funding(d: DemoRun) -> bool:
    """Funding the plan"""
    from jointplan.cli import _load_or_exit
    from jointplan.finance_cli import print_funding
    from finance.sizing import size_plan_funding
    from scenarios.finance import FinanceError, finance_spec_from_scenario

    d.facts["scenario"] = scenario = _load_or_exit(str(d.consensus_scenario))[0]
    d.facts["spec"] = spec = finance_spec_from_scenario(scenario)
    if spec is None:
        d.console.print("The scenario has no finance section: funding not sized.")
        return False
    try:
        d.facts["funding"] = size_plan_funding(d.facts["plan"], spec)
    except FinanceError as exc:
        d.console.print("[red]Funding not sized[/]: " + "; ".join(str(p) for p in exc.problems))
        return False
    print_funding(d.console, d.facts["funding"])
    return True


def finance_choices(d: DemoRun) -> bool:
    """Planning with finance: joint vs sequential"""
    from finance.compare import joint_vs_sequential, reverse_factoring_whatif
    from jointplan.cli import _load_or_exit
    from jointplan.finance_cli import print_comparison, print_whatif
    from scenarios.finance import FinanceError, finance_spec_from_scenario

    scenario = _load_or_exit(str(story.FINANCE_SCENARIO_FILE))[0]
    spec = finance_spec_from_scenario(scenario)
    d.console.print(f"On {story.FINANCE_SCENARIO_NAME}, a chain whose credit is tight: "
                    f"{escape(' '.join(scenario.description.split()))}")
    d.console.print("Its plan made ignoring financing and then funded (sequential), against operations "
                    "and funding planned together (joint):")
    try:
        comparison = joint_vs_sequential(scenario, spec)
        print_comparison(d.console, comparison)
        if any(i.type == "reverse_factoring" for pf in spec.partners for i in pf.instruments):
            print_whatif(d.console, reverse_factoring_whatif(scenario, spec, comparison=comparison))
    except FinanceError as exc:
        d.console.print("[red]Not compared[/]: " + "; ".join(str(p) for p in exc.problems))
    return True


STEPS: tuple[Callable[[DemoRun], bool], ...] = (
    history, forecast, submissions, exceptions, consensus, plan, funding, finance_choices,
)


def run_demo(out: Path, fast: bool, console: Console, err: Console) -> None:
    """Every step of :data:`STEPS` under its number and title, until one ends the story; then the
    plan's workbook."""
    out.mkdir(parents=True, exist_ok=True)
    d = DemoRun(out, fast, console, err)
    shutil.rmtree(d.store, ignore_errors=True)
    try:
        for number, step in enumerate(STEPS, 1):
            console.rule(f"{number}. {step.__doc__.strip().splitlines()[0]}")
            if not step(d):
                break
    finally:  # also for a plan without a solution: its workbook holds the diagnosis
        if "plan" in d.facts:
            xlsx = out / f"{story.SCENARIO_NAME}.plan.xlsx"
            sized = d.facts.get("funding")
            sized = sized if sized is not None and sized.tables else None
            d.facts["plan"].write_excel(xlsx, funding=sized)
            console.print(f"Workbook written to {xlsx}" + (" (with the plan's funding)" if sized else ""))
