"""The forecasting and CPFR commands: ``forecast``, ``submit``, ``exceptions``, ``resolve`` and
``consensus``. They work on files and on a store directory (``--store``, default
``$JOINTPLAN_STORE`` or ``./jointplan-store``) that keeps partner submissions and statistical runs
as versions, and resolutions as an append-only log.

pandas and the forecasting modules are imported inside the functions that use them: registering
the commands (every ``jointplan`` start, ``--help`` included) imports neither."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jointplan.cli_options import finite, service_level_range
from jointplan.numbers import num

if TYPE_CHECKING:
    import pandas as pd

EXIT_BAD_INPUT = 2
STORE_ENV = "JOINTPLAN_STORE"
DEFAULT_STORE = "jointplan-store"


def _store_path(store: Optional[Path]) -> Path:
    return store or Path(os.environ.get(STORE_ENV, DEFAULT_STORE))


def _fail(err: Console, message: str, lines: list[str] | None = None) -> None:
    err.print(f"[bold red]{escape(message)}[/]")
    for line in lines or []:
        err.print(f"  {escape(line)}")
    raise typer.Exit(EXIT_BAD_INPUT)


def _split_list(text: Optional[str]) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


@contextmanager
def _history_errors(err: Console, path: str) -> Iterator[None]:
    """A history that cannot be read or used: every problem printed, exit 2."""
    from forecasting.history import HistoryError

    try:
        yield
    except HistoryError as exc:
        _fail(err, f"History {path} is not usable: {len(exc.problems)} problem(s)", [str(p) for p in exc.problems])
    except (FileNotFoundError, ValueError) as exc:
        _fail(err, f"History {path}: {exc}")


def read_history(err: Console, path: str, freq: str, keys: Optional[str], date_column: str, quantity_column: str,
                 regressors: Optional[str], gaps: str, quiet: bool = False, console: Console | None = None):
    """Read and check a history file; on bad data print every problem and exit 2."""
    from forecasting.history import HistorySpec, prepare_history

    spec = HistorySpec(date=date_column, quantity=quantity_column, keys=_split_list(keys),
                       regressors=_split_list(regressors) or [])
    with _history_errors(err, path):
        history, report = prepare_history(path, spec, freq=freq, gaps=gaps)  # type: ignore[arg-type]
    if console is not None and not quiet:
        for line in report.lines():
            console.print(f"  {escape(line)}")
    return history, report


def history_keys(history: pd.DataFrame, regressors: list[str] | None = None) -> list[str]:
    return [c for c in history.columns if c not in {"unique_id", "ds", "y", *(regressors or [])}]


def forecast_output(forecasts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The forecast file: the key columns, date, p10, p50, p90 and method."""
    import pandas as pd

    out = forecasts.rename(columns={"ds": "date"})
    cols = [*keys, "date", "p10", "p50", "p90", "method"] if keys else ["unique_id", "date", "p10", "p50", "p90", "method"]
    out = out[cols].copy()
    out["date"] = pd.to_datetime(out["date"]).dt.date
    return out


def print_wins(console: Console, result) -> None:
    s = result.summary
    table = Table(title="Model competition: how often each ranked first on the backtest", box=None, padding=(0, 1))
    for col in ("method", "series", "share"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for row in result.wins.itertuples():
        table.add_row(escape(str(row.method)), str(row.series), num(row.share, ".0%"))
    console.print(table)
    sel, base = s.get("mean_mase_selected"), s.get("mean_mase_seasonal_naive")
    if sel is not None and base is not None:
        console.print(
            f"Backtest mean MASE {sel:.3f} for the selected models against {base:.3f} for seasonal naive"
            + (f"; selection beats the baseline on {s['share_beats_baseline']:.0%} of series" if s.get("share_beats_baseline") is not None else "")
        )


def register(app: typer.Typer, console: Console, err: Console) -> None:
    """Add the forecasting / CPFR commands to the ``jointplan`` app."""

    @app.command()
    def forecast(
        history_file: str = typer.Argument(..., metavar="HISTORY", help="Sales history: CSV or Parquet, long format"),
        horizon: int = typer.Option(..., "--horizon", "-H", min=1, max=520, help="Periods to forecast"),
        freq: str = typer.Option("M", "--freq", help="Planning bucket: W (weeks from Monday) or M (months)"),
        out: Path = typer.Option(..., "--out", "-o", help="Forecast CSV: keys, date, p10, p50, p90, method"),
        backtest: bool = typer.Option(False, "--backtest", help="Also write the backtest accuracy table (OUT with .accuracy.csv)"),
        fast: bool = typer.Option(False, "--fast", help="No model competition: one method per series class"),
        keys: Optional[str] = typer.Option(None, help="Key columns, comma-separated (default: every other column)"),
        date_column: str = typer.Option("date", help="Date column"),
        quantity_column: str = typer.Option("quantity", help="Quantity column"),
        gaps: str = typer.Option("zero", help="Missing buckets inside a series: zero, interpolate or error"),
        country: Optional[str] = typer.Option(None, help="Country code for Prophet's holiday effects (e.g. US, DE)"),
        windows: int = typer.Option(3, min=1, max=12, help="Rolling-origin backtest windows per series"),
        pool: int = typer.Option(5, min=1, max=10, help="Average the best POOL candidates on the backtest (1: the single best)"),
        combine: str = typer.Option("mean", help="How the pool is averaged: mean, median or trimmed (without the highest and lowest)"),
        backend: str = typer.Option("auto", help="auto, serial, processes or dask"),
        workers: Optional[int] = typer.Option(None, min=1, help="Worker processes (default: CPU count)"),
        scheduler: Optional[str] = typer.Option(None, help="Dask scheduler address (or $JOINTPLAN_DASK_SCHEDULER)"),
        store: Optional[Path] = typer.Option(None, help="Also keep this run as a version of source 'statistical' in this store"),
        author: str = typer.Option("jointplan", help="Author recorded with the stored run"),
        selection_file: Optional[Path] = typer.Option(
            None, "--selection",
            help="Model selection kept between runs (JSON): reused for the series whose history is unchanged (or "
            "gained at most --reselect-after periods), then rewritten",
        ),
        reselect: bool = typer.Option(False, "--reselect", help="Run the model competition for every series (the --selection file is rewritten)"),
        reselect_after: Optional[int] = typer.Option(
            None, min=0, max=520, help="Periods a kept selection is reused for before its series compete again (default 0: only an unchanged history)",
        ),
    ) -> None:
        """Forecast every series of a sales history, with P10/P50/P90.

        Prophet configurations and statistical challengers compete per series on a
        rolling-origin backtest; the best forecasts. With --selection, the next run reuses the
        winners for the series whose history is unchanged, or gained at most --reselect-after
        periods without the forecast drifting."""
        if freq not in ("W", "M"):
            _fail(err, f"--freq: must be W or M, got {freq!r}")
        if backend not in ("auto", "serial", "processes", "dask"):
            _fail(err, f"--backend: must be auto, serial, processes or dask, got {backend!r}")
        if combine not in ("mean", "median", "trimmed"):
            _fail(err, f"--combine: must be mean, median or trimmed, got {combine!r}")
        if fast and (selection_file is not None or reselect or reselect_after is not None):
            _fail(err, "--selection, --reselect and --reselect-after: the fast mode has no model competition to keep")
        kept = None if reselect or selection_file is None else read_kept_selection(err, selection_file)
        history, _ = read_history(err, history_file, freq, keys, date_column, quantity_column, None, gaps, console=console)
        key_cols = history_keys(history)
        result = run_forecast(history, horizon, freq, select=not fast, n_windows=windows, backend=backend,
                              workers=workers, scheduler=scheduler, country=country, keys=key_cols, pool=pool,
                              combine=combine, selection=kept, reselect_after=reselect_after)
        frame = forecast_output(result.forecasts, key_cols)
        out.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(out, index=False)
        console.print(f"Forecast of {result.summary['series']} series x {horizon} periods written to {out}")
        if not fast:
            print_wins(console, result)
        if selection_file is not None:
            from forecasting.selection import write_selection

            selection_file.parent.mkdir(parents=True, exist_ok=True)
            write_selection(selection_file, result.selection)
            console.print(selection_line(result.summary.get("selection", {}), selection_file))
        if backtest:
            path = out.with_name(out.stem + ".accuracy.csv")
            accuracy_output(result.accuracy, history, key_cols).to_csv(path, index=False)
            console.print(f"Backtest accuracy table written to {path}")
        t = result.timings
        console.print(f"Time {t['total_seconds']:.1f}s on {t['workers']} worker(s) ({t['backend']}); "
                      f"{t['model_seconds']:.1f}s inside the models")
        if store is not None:
            saved = save_statistical_run(store, result, author)
            console.print(f"Kept as statistical version {saved.version} in {store}")

    @app.command()
    def submit(
        partner: str = typer.Argument(..., help="Partner id submitting the forecast"),
        forecast_file: Path = typer.Argument(..., metavar="FORECAST", help="CSV or Parquet: keys, date, value (or p50/quantity)"),
        author: str = typer.Option(..., help="Who submits it"),
        store: Optional[Path] = typer.Option(None, help=f"Store directory (default ${STORE_ENV} or ./{DEFAULT_STORE})"),
        keys: Optional[str] = typer.Option(None, help="Key columns, comma-separated (default: every column that is not date or value)"),
        value_column: Optional[str] = typer.Option(None, help="Column holding the forecast quantity"),
        date_column: Optional[str] = typer.Option(None, help="Column holding the period date"),
        freq: Optional[str] = typer.Option(None, help="Bucket dates into W or M periods"),
        submitted_at: Optional[str] = typer.Option(None, help="Submission time (ISO 8601; default now)"),
        note: str = typer.Option("", help="Free text kept with the version"),
    ) -> None:
        """Store a partner's own forecast as its next version."""
        from forecasting.submissions import SubmissionError
        from forecasting.workflow import submit_forecast

        columns = {k: v for k, v in {"value": value_column, "ds": date_column}.items() if v}
        try:
            sub = submit_forecast(
                _file_store(_store_path(store)), partner, forecast_file, author=author, submitted_at=submitted_at,
                note=note, columns=columns or None, keys=_split_list(keys), freq=freq,  # type: ignore[arg-type]
            )
        except SubmissionError as exc:
            _fail(err, f"Submission {forecast_file} refused: {len(exc.problems)} problem(s)", [str(p) for p in exc.problems])
        except (FileNotFoundError, ValueError) as exc:
            _fail(err, f"Submission {forecast_file} refused: {exc}")
        console.print(f"{escape(partner)} version {sub.version}: {sub.rows} series-periods by {escape(author)} "
                      f"at {sub.submitted_at:%Y-%m-%d %H:%M} UTC (sha256 {sub.content_hash[:12]})")

    @app.command()
    def exceptions(
        rules: Path = typer.Option(..., "--rules", help="Collaboration rules (YAML)"),
        history_file: Optional[str] = typer.Option(None, "--history", help="Sales history, for the forecast-error rules"),
        freq: str = typer.Option("M", help="Bucket of the history: W or M"),
        keys: Optional[str] = typer.Option(None, help="Key columns of the history"),
        store: Optional[Path] = typer.Option(None, help=f"Store directory (default ${STORE_ENV} or ./{DEFAULT_STORE})"),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the exceptions as CSV here"),
        limit: int = typer.Option(20, min=0, help="Rows shown on the terminal"),
    ) -> None:
        """List the CPFR exceptions: forecasts that disagree, sources wrong on history."""
        table = run_exceptions(err, rules, _store_path(store), history_file, freq, keys)
        print_exceptions(console, table, limit)
        if out:
            out.parent.mkdir(parents=True, exist_ok=True)
            table.to_csv(out, index=False)
            console.print(f"Exceptions written to {out}")

    @app.command()
    def resolve(
        unique_id: str = typer.Argument(..., help="Series resolved, e.g. widget/store-north"),
        author: str = typer.Option(..., help="Who resolves it"),
        accept: Optional[str] = typer.Option(None, help="Accept this source's values"),
        adjust: Optional[float] = typer.Option(None, callback=finite, help="Enter this value"),
        rule: Optional[str] = typer.Option(None, help="Apply this consensus rule (weighted, mean, median, max, min, statistical)"),
        reason: str = typer.Option("", help="Why (required with --adjust)"),
        period: Optional[list[str]] = typer.Option(None, "--period", help="Period start date; repeat for several (default: all)"),
        exception_id: Optional[str] = typer.Option(None, "--exception", help="Exception this resolves"),
        store: Optional[Path] = typer.Option(None, help=f"Store directory (default ${STORE_ENV} or ./{DEFAULT_STORE})"),
    ) -> None:
        """Record a resolution: accept one source, enter an adjusted value with a reason, or apply a rule."""
        from forecasting.consensus import Resolution
        from forecasting.workflow import record_resolution

        chosen = [x for x in (accept, adjust, rule) if x is not None]
        if len(chosen) != 1:
            _fail(err, "resolve: give exactly one of --accept SOURCE, --adjust VALUE or --rule NAME")
        data = {"unique_id": unique_id, "author": author, "reason": reason or None, "exception_id": exception_id}
        if period:
            data["ds"] = period
        if accept is not None:
            data.update(action="accept_source", source=accept)
        elif adjust is not None:
            data.update(action="adjust", value=adjust)
        else:
            data.update(action="apply_rule", rule=rule)
        try:
            res = record_resolution(_file_store(_store_path(store)),
                                    Resolution.model_validate({k: v for k, v in data.items() if v is not None}))
        except Exception as exc:  # pydantic ValidationError or store error: name the field
            _fail(err, "resolve: not recorded", _validation_lines(exc))
        console.print(f"Resolution {res.id} recorded for {escape(unique_id)} by {escape(author)}")

    @app.command()
    def consensus(
        out: Path = typer.Option(..., "--out", "-o", help="Consensus CSV: keys, date, p10, p50, p90, basis"),
        history_file: Optional[str] = typer.Option(None, "--history", help="Sales history: scores past submissions (FVA, weights)"),
        freq: str = typer.Option("M", help="Bucket of the history: W or M"),
        keys: Optional[str] = typer.Option(None, help="Key columns of the history"),
        rule: str = typer.Option("weighted", help="Consensus rule: weighted (by backtested accuracy), mean, median, max, min, statistical"),
        store: Optional[Path] = typer.Option(None, help=f"Store directory (default ${STORE_ENV} or ./{DEFAULT_STORE})"),
        scenario: Optional[str] = typer.Option(None, help="Fill this scenario's demand from the consensus"),
        scenario_out: Optional[Path] = typer.Option(None, help="Write the filled scenario (YAML) here"),
        service_level: Optional[float] = typer.Option(None, callback=service_level_range, help="Also set safety stock for this cycle service level (0.5 to 0.9999)"),
    ) -> None:
        """Build the consensus forecast and report forecast value added.

        The statistical forecast and the partners' latest submissions are weighted by their
        accuracy; recorded resolutions override the rule."""
        consensus_step(console, err, _store_path(store), out, rule=rule, history_file=history_file, freq=freq, keys=keys,
                       scenario=scenario, scenario_out=scenario_out, service_level=service_level)


# ------------------------------------------------------------------------------- shared steps
# Each command parses its options, calls the CPFR workflow (forecasting.workflow) on the store
# directory (forecasting.store.FileStore) and prints what it returns.


def _file_store(store: Path):
    from forecasting.store import FileStore

    return FileStore(store)


def _no_forecasts(err: Console, store: Path) -> None:
    _fail(err, f"No forecasts in {store}: run `jointplan forecast --store` and `jointplan submit` first")


def _validation_lines(exc: Exception) -> list[str]:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return [f"{'.'.join(map(str, e['loc'])) or '(resolution)'}: {e['msg']}" for e in errors()]
    return [str(exc)]


def run_forecast(history, horizon, freq, *, select=True, n_windows=3, backend="auto", workers=None, scheduler=None,
                 country=None, keys=None, progress=True, pool=5, combine="mean", selection=None, reselect_after=None):
    from forecasting.engine import forecast_panel

    return forecast_panel(history, horizon, freq, select=select, n_windows=n_windows, backend=backend, workers=workers,
                          scheduler_address=scheduler, progress=progress, country=country, keys=keys, pool=pool,
                          combine=combine, selection=selection, reselect_after=reselect_after)


def read_kept_selection(err: Console, path: Path):
    """The selection file of ``--selection``; None when it does not exist yet (the first run);
    exit 2 naming the field when it cannot be used."""
    from forecasting.selection import SelectionError, read_selection

    if not path.exists():
        return None
    if not path.is_file():
        _fail(err, f"--selection {path}: not a file")
    try:
        return read_selection(path)
    except SelectionError as exc:
        _fail(err, f"--selection {path}: {exc}")


def selection_line(counts: dict[str, int], path: Path) -> str:
    """What the run did with the kept selection, e.g. ``reused for 140 of 150 series; competed: 6
    new, 4 drift``."""
    words = {"competition": "without a kept selection", "new": "new series", "options": "run options changed",
             "revised": "history revised", "class": "class changed", "schedule": "on schedule",
             "drift": "forecast drifted", "failed": "pool failed to fit"}
    total = sum(counts.values())
    reused = counts.get("reused", 0)
    why = ", ".join(f"{n} {words.get(k, k)}" for k, n in sorted(counts.items()) if k not in ("reused", "none") and n)
    return (f"Model selection reused for {reused} of {total} series" + (f"; competed: {why}" if why else "")
            + f"; kept in {path}")


def accuracy_output(accuracy: pd.DataFrame, history: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Backtest table with the key columns in front."""
    if not keys:
        return accuracy
    key_table = history[["unique_id", *keys]].drop_duplicates("unique_id")
    return key_table.merge(accuracy, on="unique_id", how="right")


def save_statistical_run(store: Path, result, author: str):
    """Keep the forecasts as the next ``statistical`` version and the backtest table beside them
    (:func:`forecasting.workflow.save_statistical_run`)."""
    from forecasting.workflow import save_statistical_run as save

    return save(_file_store(store), result, author=author)


def read_actuals(err: Console, history_file: Optional[str], freq: str, keys: Optional[str]) -> pd.DataFrame | None:
    """The history file as actuals (:func:`forecasting.workflow.actuals`); None without a file;
    on bad data print every problem and exit 2."""
    from forecasting.workflow import actuals

    if not history_file:
        return None
    with _history_errors(err, history_file):
        return actuals(history_file, freq=freq, keys=_split_list(keys))  # type: ignore[arg-type]


def run_exceptions(err: Console, rules_path: Path, store: Path, history_file, freq, keys) -> pd.DataFrame:
    """The CPFR exceptions of the rules file on the store (:func:`forecasting.workflow.run_exceptions`);
    the notes on skipped rules are printed."""
    from forecasting import workflow
    from forecasting.exceptions import CollaborationRules, RulesError

    try:
        rules = CollaborationRules.from_yaml(rules_path)
    except RulesError as exc:
        _fail(err, f"Rules {rules_path} are not valid", [str(p) for p in getattr(exc, "problems", [exc])])
    actuals = read_actuals(err, history_file, freq, keys)
    try:
        table = workflow.run_exceptions(_file_store(store), rules, actuals=actuals)
    except workflow.NoForecasts:
        _no_forecasts(err, store)
    except ValueError as exc:
        _fail(err, f"exceptions: {exc}")
    for note in table.attrs.get("notes", []):
        err.print(f"  [yellow]note[/] {escape(note)}")
    return table


def print_exceptions(console: Console, table: pd.DataFrame, limit: int) -> None:
    import pandas as pd

    if table.empty:
        console.print("[green]No exceptions[/]: the forecasts agree within every rule.")
        return
    by = table.groupby(["rule", "severity"]).size()
    console.print(f"[bold]{len(table)} exception(s)[/]: " + ", ".join(f"{r} {s}: {n}" for (r, s), n in by.items()))
    order = table.assign(_s=table["severity"].map({"high": 0, "medium": 1, "low": 2})).sort_values(["_s", "unique_id", "ds"])
    colour = {"high": "red", "medium": "yellow", "low": "white"}
    for row in order.head(limit).itertuples():
        console.print(
            f"  {row.exception_id} [{colour.get(row.severity, 'white')}]{row.severity:<6}[/] "
            f"{escape(str(row.unique_id))} {pd.Timestamp(row.ds):%Y-%m} {escape(str(row.rule))} "
            f"(owner {escape(str(row.owner))}): {escape(str(row.message))}"
        )
    if len(table) > limit:
        console.print(f"... and {len(table) - limit} more")


def consensus_step(console: Console, err: Console, store: Path, out: Path, *, rule: str = "weighted",
                   history_file: Optional[str] = None, freq: str = "M", keys: Optional[str] = None,
                   scenario: Optional[str] = None, scenario_out: Optional[Path] = None,
                   service_level: Optional[float] = None) -> pd.DataFrame:
    """The consensus of the store (:func:`forecasting.workflow.run_consensus`) written to ``out``
    (key columns, date, p10, p50, p90, basis) with its trace beside it; with a history its FVA
    printed; with a scenario its demand filled from it."""
    import pandas as pd

    from forecasting import workflow

    files = _file_store(store)
    actuals = read_actuals(err, history_file, freq, keys)
    try:
        run = workflow.run_consensus(files, rule=rule, actuals=actuals)  # type: ignore[arg-type]
    except workflow.NoForecasts:
        _no_forecasts(err, store)
    except ValueError as exc:
        _fail(err, f"consensus: {exc}")
    result = run.result
    for note in result.notes:
        err.print(f"  [yellow]note[/] {escape(note)}")
    key_names = files.key_columns()
    table = workflow.with_key_columns(result.table, key_names)
    written = table.rename(columns={"ds": "date"})
    written["date"] = pd.to_datetime(written["date"]).dt.date
    out.parent.mkdir(parents=True, exist_ok=True)
    split = bool(key_names) and set(key_names) <= set(table.columns)
    written.drop(columns=["unique_id"] if split else []).to_csv(out, index=False)
    trace_path = out.with_name(out.stem + ".trace.csv")
    result.trace.to_csv(trace_path, index=False)
    bases = result.table["basis"].value_counts()
    console.print(f"Consensus of {result.table['unique_id'].nunique()} series written to {out} "
                  f"({', '.join(f'{k}: {v}' for k, v in bases.items())}); trace in {trace_path}")
    if actuals is not None:
        print_fva(console, workflow.value_added(files, actuals=actuals, freq=freq))  # type: ignore[arg-type]
    if scenario:
        fill_scenario(console, err, scenario, result.table, scenario_out, service_level, keys=key_names)
    return table


def print_fva(console: Console, fva) -> None:
    """Forecast value added of each partner's past submissions against the statistical forecast
    (:func:`forecasting.workflow.value_added`); without any, the notes saying why."""
    if fva.by_partner.empty:
        for note in fva.notes:
            console.print(f"  FVA: {escape(note)}")
        return
    t = Table(title="Forecast value added on history (positive: the partner improved on the statistical forecast)",
              box=None, padding=(0, 1))
    for col in ("partner", "series", "WAPE statistical", "WAPE partner", "FVA (WAPE points)", "series improved"):
        t.add_column(col, justify="left" if col == "partner" else "right")
    for r in fva.by_partner.itertuples():
        t.add_row(escape(str(r.partner)), str(r.series), num(r.wape_statistical, ".1%"), num(r.wape_partner, ".1%"),
                  num(100 * r.fva_wape, "+.1f"), f"{r.series_improved}/{r.series}")
    console.print(t)


def fill_scenario(console, err, scenario_path, consensus_table, scenario_out, service_level, keys=None):
    """The scenario's demand from the consensus (:func:`forecasting.workflow.fill_scenario`,
    ``keys``: those joined in its ``unique_id``), the report printed, the scenario written."""
    from forecasting import workflow
    from forecasting.to_scenario import ForecastCoverageError
    from scenarios.io import load_scenario
    from scenarios.validation import ScenarioError

    try:
        base, _ = load_scenario(scenario_path)
        filled, report = workflow.fill_scenario(base, consensus_table, keys=keys, service_level=service_level)
    except ForecastCoverageError as exc:
        _fail(err, f"The consensus does not cover scenario {scenario_path}", list(exc.problems))
    except ScenarioError as exc:
        _fail(err, f"Scenario {scenario_path} is not valid", [f"{p.path}: {p.message}" for p in exc.problems])
    except ValueError as exc:
        _fail(err, f"The consensus cannot fill scenario {scenario_path}: {exc}")
    for line in report.lines():
        console.print(f"  {escape(line)}")
    if scenario_out:
        write_scenario(filled, scenario_out)
        console.print(f"Scenario with consensus demand written to {scenario_out}")
    return filled


def write_scenario(scenario, path: Path) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    data = scenario.model_dump(mode="json", exclude_defaults=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
