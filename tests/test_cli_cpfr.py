"""The forecasting / CPFR commands: forecast, submit, exceptions, resolve, consensus, and plan
--forecast; bad input exits 2 naming the field and rows."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from jointplan.cli import app
from scenarios.io import EXAMPLES_DIR

runner = CliRunner()
HISTORY = EXAMPLES_DIR / "small_chain_history.csv"
RULES = EXAMPLES_DIR / "small_chain_collab.yaml"


def _ok(args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Statistical run (fast mode) + two partner submissions in a fresh store."""
    root = tmp_path_factory.mktemp("cpfr")
    store = root / "store"
    fc = root / "forecast.csv"
    _ok(["forecast", HISTORY, "--horizon", 12, "--freq", "M", "--out", fc, "--fast", "--backend", "serial",
         "--store", store, "--author", "tester"])
    for partner in ("shops", "wholesale"):
        table = pd.read_csv(EXAMPLES_DIR / f"small_chain_submissions_{partner}.csv")
        latest = table[table["round"] == table["round"].max()].drop(columns="round")
        path = root / f"{partner}.csv"
        latest.to_csv(path, index=False)
        _ok(["submit", partner, path, "--author", f"{partner}-planner", "--store", store, "--keys", "product,site"])
    return root, store, fc


def test_forecast_file_has_keys_date_quantiles_method(workspace):
    _, _, fc = workspace
    df = pd.read_csv(fc)
    assert list(df.columns) == ["product", "site", "date", "p10", "p50", "p90", "method"]
    assert len(df) == 4 * 12
    assert df.groupby(["product", "site"]).size().eq(12).all()
    assert (df["p10"] <= df["p50"] + 1e-9).all() and (df["p50"] <= df["p90"] + 1e-9).all() and (df["p10"] >= 0).all()
    assert pd.to_datetime(df["date"]).min() == pd.Timestamp("2027-01-01")


@pytest.mark.slow
def test_backtest_writes_accuracy_table(tmp_path):
    short = pd.read_csv(HISTORY)
    short = short[short["site"] == "store-south"]
    src = tmp_path / "h.csv"
    short.to_csv(src, index=False)
    out = tmp_path / "f.csv"
    res = _ok(["forecast", src, "--horizon", 6, "--out", out, "--backtest", "--backend", "serial", "--windows", 2])
    acc = pd.read_csv(tmp_path / "f.accuracy.csv")
    assert {"product", "site", "unique_id", "model", "mase", "wape", "bias", "selected"} <= set(acc.columns)
    assert acc.groupby("unique_id")["selected"].sum().eq(1).all()
    assert "seasonal_naive" in set(acc["model"])
    assert "Model competition" in res.output


def test_bad_history_exits_2_naming_rows(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("product,site,date,quantity\nw,s,2024-01-01,5\nw,s,not-a-date,3\nw,s,2024-02-01,-4\n")
    result = runner.invoke(app, ["forecast", str(bad), "--horizon", "3", "--out", str(tmp_path / "f.csv")])
    assert result.exit_code == 2
    assert "date" in result.output and "quantity" in result.output
    assert "Traceback" not in result.output


def test_bad_combine_exits_2_naming_the_option(tmp_path):
    result = runner.invoke(app, ["forecast", str(HISTORY), "--horizon", "3", "--combine", "mode",
                                 "--out", str(tmp_path / "f.csv")])
    assert result.exit_code == 2
    assert "--combine" in result.output and "mean, median or trimmed" in result.output
    assert not (tmp_path / "f.csv").exists()


def test_bad_submission_exits_2(tmp_path, workspace):
    _, store, _ = workspace
    bad = tmp_path / "bad.csv"
    bad.write_text("product,site,date,value\nwidget,store-north,2027-01-01,-5\n")
    result = runner.invoke(app, ["submit", "shops", str(bad), "--author", "x", "--store", str(store)])
    assert result.exit_code == 2
    assert "value" in result.output


def test_exceptions_resolve_consensus_and_plan(tmp_path, workspace):
    _, store, _ = workspace
    exc_csv = tmp_path / "exc.csv"
    res = _ok(["exceptions", "--rules", RULES, "--store", store, "--history", HISTORY, "--out", exc_csv])
    exc = pd.read_csv(exc_csv)
    assert "exception(s)" in res.output
    # the retailer's Q4 promotion at store-north is far above the statistical forecast
    promo = exc[(exc["unique_id"] == "widget/store-north") & (exc["rule"] == "retailer-vs-statistical")]
    assert not promo.empty and set(promo["owner"]) == {"shops"}

    _ok(["resolve", "widget/store-north", "--author", "planner", "--adjust", 1999, "--reason", "agreed in S&OP",
         "--period", "2027-11-01", "--store", store])
    bad = runner.invoke(app, ["resolve", "widget/store-north", "--author", "planner", "--adjust", "5", "--store", str(store)])
    assert bad.exit_code == 2 and "reason" in bad.output

    out = tmp_path / "consensus.csv"
    scen = tmp_path / "scenario.yaml"
    _ok(["consensus", "--out", out, "--store", store, "--scenario", "small_chain", "--scenario-out", scen,
         "--service-level", 0.95])
    cons = pd.read_csv(out)
    assert list(cons.columns) == ["product", "site", "date", "p10", "p50", "p90", "basis"]
    nov = cons[(cons["product"] == "widget") & (cons["site"] == "store-north") & (cons["date"] == "2027-11-01")]
    assert nov["p50"].iloc[0] == pytest.approx(1999) and nov["basis"].iloc[0] == "adjusted"
    assert cons["p10"].notna().all()
    trace = pd.read_csv(tmp_path / "consensus.trace.csv")
    assert (trace["author"] == "planner").any()

    filled = yaml.safe_load(scen.read_text())
    north_widget = next(d for d in filled["demand"] if d["site"] == "store-north" and d["product"] == "widget")
    assert north_widget["quantity"][10] == pytest.approx(1999)
    res = _ok(["plan", scen])
    assert "status optimal" in res.output

    res = _ok(["plan", "small_chain", "--forecast", out, "--service-level", 0.9])
    assert "status optimal" in res.output and "safety stock set" in res.output


def test_plan_forecast_that_does_not_cover_horizon_exits_2(tmp_path, workspace):
    _, _, fc = workspace
    short = pd.read_csv(fc)
    short = short[short["date"] < "2027-06-01"]
    path = tmp_path / "short.csv"
    short.to_csv(path, index=False)
    result = runner.invoke(app, ["plan", "small_chain", "--forecast", str(path)])
    assert result.exit_code == 2
    assert "does not cover" in result.output
