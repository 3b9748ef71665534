"""The CPFR workflow (forecasting.workflow) where the command line and the service used to part
ways: each case here once gave a traceback or a refusal on one side and an answer on the other.

- a backtest table with two selected rows for one series counts the last (the service did; the
  command line refused the consensus);
- a statistical run without a P10/P90 band gives a consensus without a band (the service did;
  the command line refused it);
- forecast value added without any statistical forecast says why (the service did; the command
  line stopped with a traceback);
- the series' keys must be product and site to fill a scenario: a clear refusal on both sides.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasting import workflow
from forecasting.store import FileStore
from jointplan.cli import app
from scenarios.io import EXAMPLES_DIR, load_scenario

HISTORY = EXAMPLES_DIR / "small_chain_history.csv"
runner = CliRunner()


def _submit_partners(store: FileStore) -> None:
    for partner in ("shops", "wholesale"):
        table = pd.read_csv(EXAMPLES_DIR / f"small_chain_submissions_{partner}.csv")
        for round_day, rows in table.groupby("round", sort=True):
            workflow.submit_forecast(store, partner, rows.drop(columns="round"), author=f"{partner}-planner",
                                     keys=["product", "site"], submitted_at=round_day)


def _statistical(store: FileStore, accuracy: pd.DataFrame | None = None, band: bool = True) -> pd.DataFrame:
    """A statistical run for 2027 (P50 = 500 everywhere) kept in ``store``; its forecasts."""
    ids = ["gadget/store-north", "gadget/store-south", "widget/store-north", "widget/store-south"]
    months = pd.date_range("2027-01-01", periods=12, freq="MS")
    f = pd.DataFrame([{"unique_id": u, "ds": d, "p50": 500.0} for u in ids for d in months])
    if band:
        f = f.assign(p10=400.0, p90=650.0)
    store.add_statistical_run(f, accuracy, author="pl", submitted_at="2026-12-01")
    return f


def test_duplicate_backtest_rows_count_the_last(tmp_path):
    store = FileStore(tmp_path)
    _submit_partners(store)
    twice = pd.DataFrame({"unique_id": ["widget/store-north"] * 2, "model": ["theta", "ets"], "wape": [0.9, 0.1],
                          "selected": [True, True]})
    _statistical(store, twice)
    acc = workflow.gather_accuracy(store, workflow.actuals(HISTORY, freq="M"))
    stat = acc[acc["source"] == "statistical"]
    assert stat.to_dict("records") == [{"unique_id": "widget/store-north", "source": "statistical", "wape": 0.1}]
    run = workflow.run_consensus(store, actuals=workflow.actuals(HISTORY, freq="M"))
    north = run.result.weights[(run.result.weights["unique_id"] == "widget/store-north")
                               & (run.result.weights["source"] == "statistical")]
    assert (north["wape"] == 0.1).all()


def test_statistical_run_without_a_band_gives_a_consensus_without_one(tmp_path):
    _submit_partners(FileStore(tmp_path))
    _statistical(FileStore(tmp_path), band=False)
    out = tmp_path / "consensus.csv"
    result = runner.invoke(app, ["consensus", "--out", str(out), "--store", str(tmp_path)])
    assert result.exit_code == 0, result.output
    cons = pd.read_csv(out)
    assert len(cons) == 4 * 12 and cons["p10"].isna().all() and cons["p90"].isna().all()


def test_value_added_without_a_statistical_forecast_says_why(tmp_path):
    _submit_partners(FileStore(tmp_path))
    result = runner.invoke(app, ["consensus", "--out", str(tmp_path / "c.csv"), "--store", str(tmp_path),
                                 "--history", str(HISTORY)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "FVA: no finished statistical forecast run yet: nothing to compare with" in " ".join(result.output.split())
    fva = workflow.value_added(FileStore(tmp_path), actuals=workflow.actuals(HISTORY, freq="M"))
    assert fva.by_partner.empty and fva.notes == [workflow.NO_STATISTICAL]


def test_value_added_scores_each_partner_on_what_it_submitted_before_each_period(tmp_path):
    """FVA = WAPE(statistical) - WAPE(partner) over the periods with an actual and both forecasts,
    recomputed here for a statistical forecast of 1.25 x the actual made before 2026."""
    store = FileStore(tmp_path)
    _submit_partners(store)
    act = workflow.actuals(HISTORY, freq="M")
    made = act[act["ds"] >= "2026-01-01"].assign(p50=lambda d: d["y"] * 1.25)[["unique_id", "ds", "p50"]]
    store.add_statistical_run(made, None, author="pl", submitted_at="2025-12-10")
    fva = workflow.value_added(store, actuals=act)
    shops = pd.read_csv(EXAMPLES_DIR / "small_chain_submissions_shops.csv")
    first = shops[shops["round"] == "2025-12-15"].assign(unique_id=lambda d: d["product"] + "/" + d["site"],
                                                          ds=lambda d: pd.to_datetime(d["date"]))
    m = first.merge(act, on=["unique_id", "ds"])
    wape_partner = (m["value"] - m["y"]).abs().sum() / m["y"].sum()
    row = fva.by_partner.set_index("partner").loc["shops"]
    assert row["wape_statistical"] == pytest.approx(0.25)
    assert row["wape_partner"] == pytest.approx(wape_partner)
    assert row["fva_wape"] == pytest.approx(0.25 - wape_partner)
    only = workflow.value_added(store, actuals=act, partner="wholesale")
    assert list(only.by_partner["partner"]) == ["wholesale"]


def test_fill_needs_product_and_site_keys():
    scenario = load_scenario("small_chain")[0]
    table = pd.DataFrame({"unique_id": ["widget"], "ds": ["2027-01-01"], "p50": [1.0]})
    with pytest.raises(ValueError, match=r"the series keys are \['product'\]; a scenario's demand needs product and site"):
        workflow.fill_scenario(scenario, table, keys=["product"])


def test_no_forecasts_is_named(tmp_path):
    with pytest.raises(workflow.NoForecasts, match="no forecasts yet"):
        workflow.run_consensus(FileStore(tmp_path))
