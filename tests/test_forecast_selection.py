"""A model selection kept between runs (forecasting.selection): reuse, its checks, the file, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasting.engine import forecast_panel
from forecasting.models import forecast_models
from forecasting.selection import (
    DRIFT_FACTOR,
    Selection,
    SelectionError,
    fingerprint,
    parse_selection,
    read_selection,
    reuse_status,
    write_selection,
)


def _panel(n_obs: int = 48) -> pd.DataFrame:
    """Two smooth monthly series: a seasonal one and a trending one."""
    rng = np.random.default_rng(7)
    t = np.arange(n_obs)
    shapes = {
        "north/A": 100 + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 4, n_obs),
        "north/B": 40 + 0.8 * t + 6 * np.cos(2 * np.pi * t / 12) + rng.normal(0, 3, n_obs),
    }
    frames = [pd.DataFrame({"unique_id": uid, "ds": pd.date_range("2021-01-01", periods=n_obs, freq="MS"),
                            "y": np.round(np.maximum(y, 0), 1)}) for uid, y in shapes.items()]
    return pd.concat(frames, ignore_index=True)


def _drop_last(history: pd.DataFrame, k: int = 1) -> pd.DataFrame:
    return history.groupby("unique_id", group_keys=False)[["unique_id", "ds", "y"]].apply(lambda g: g.iloc[:-k]).reset_index(drop=True)


RUN = dict(horizon=6, freq="M", backend="serial", n_windows=2, progress=False, reselect_after=6)


@pytest.fixture(scope="module")
def kept():
    """The competition on the history one month short, and its selection."""
    full = _panel()
    first = forecast_panel(_drop_last(full), **RUN)
    assert forecast_panel(full, **{**RUN, "reselect_after": None}, selection=first.selection).summary["selection"] == {"schedule": 2}
    return full, first


def _run(history, **kw):
    return forecast_panel(history, **{**RUN, **kw})


def test_a_competition_keeps_one_record_per_series(kept):
    full, first = kept
    sel = first.selection
    assert sel.options.horizon == 6 and sel.options.freq == "M" and sel.options.lean
    assert [r.unique_id for r in sel.series] == ["north/A", "north/B"]
    assert set(first.series["selection"]) == {"competition"}
    for rec in sel.series:
        row = first.series.set_index("unique_id").loc[rec.unique_id]
        assert row["method"] == "pool%d:%s" % (len(rec.pool), "+".join(rec.pool))
        assert rec.n_obs == rec.selected_n_obs == 47 and rec.winner == row["winner"]
        assert rec.arima is not None and rec.ets is not None
        p50 = first.forecasts.loc[first.forecasts["unique_id"] == rec.unique_id, "p50"].to_numpy()
        np.testing.assert_allclose(rec.next_p50, p50)
        acc = first.accuracy[first.accuracy["unique_id"] == rec.unique_id]
        pooled = acc.loc[acc["pooled"], "mase"].to_numpy()
        assert rec.backtest_mase == pytest.approx(pooled.mean())


def test_a_kept_selection_forecasts_without_a_backtest(kept):
    """The reused pool is fitted once on the whole history, in the kept forms, and nothing else runs."""
    full, first = kept
    again = _run(full, selection=first.selection)
    assert set(again.series["selection"]) == {"reused"} and again.summary["selection"] == {"reused": 2}
    kept_by_id = first.selection.by_id()
    fitted = set(again.timings["cpu_by_model"])
    pools = set()
    for uid, one in full.groupby("unique_id"):
        rec = kept_by_id[uid]
        assert again.series.set_index("unique_id").loc[uid, "method"] == first.series.set_index("unique_id").loc[uid, "method"]
        history = one[["ds", "y"]].reset_index(drop=True)
        singles = forecast_models(rec.pool, history, 6, "M", prophet_config=rec.prophet_config, specs=rec.specs())
        expected = np.clip(np.mean([singles[m]["p50"].to_numpy() for m in rec.pool], axis=0), 0, None)
        got = again.forecasts.loc[again.forecasts["unique_id"] == uid, "p50"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)
        pools |= {m for name in rec.pool for m in (("ets", "arima", "theta") if name == "combo_stat" else
                                                     (rec.prophet_config, "ets", "theta") if name == "combo_all" else (name,))}
    assert fitted == pools  # seasonal naive and the Prophet configuration left out were not fitted
    # the competition's accuracy rows are carried, with the same flags
    cols = ["unique_id", "model", "mase", "wape", "selected", "pooled"]
    pd.testing.assert_frame_equal(again.accuracy[cols].reset_index(drop=True), first.accuracy[cols].reset_index(drop=True))
    # the new records carry the competition forward and see the longer history
    for rec in again.selection.series:
        assert rec.n_obs == 48 and rec.selected_n_obs == 47 and rec.pool == kept_by_id[rec.unique_id].pool


def test_the_kept_forms_are_the_ones_refitted(kept):
    """A kept ARIMA order is fitted as it is, not searched again."""
    full, first = kept
    rec = first.selection.series[0]
    other = (1, 0, 0, 0, 12, 1, 0)
    assert rec.arima.arma != other
    changed = rec.model_copy(update={"pool": ["arima", "theta"], "arima": rec.arima.model_copy(update={"arma": other})})
    sel = first.selection.model_copy(update={"series": [changed]})
    one = full[full["unique_id"] == rec.unique_id]
    out = _run(one, selection=sel)
    assert out.series["selection"].iloc[0] == "reused" and out.series["method"].iloc[0] == "pool2:arima+theta"
    history = one[["ds", "y"]].reset_index(drop=True)
    fixed = forecast_models(["arima", "theta"], history, 6, "M", specs={"arima": {"arma": other, "mean": rec.arima.mean,
                                                                                    "drift": rec.arima.drift}})
    searched = forecast_models(["arima"], history, 6, "M")["arima"]["p50"].to_numpy()
    expected = np.mean([fixed["arima"]["p50"].to_numpy(), fixed["theta"]["p50"].to_numpy()], axis=0)
    got = out.forecasts["p50"].to_numpy()
    np.testing.assert_allclose(got, np.clip(expected, 0, None), rtol=1e-9, atol=1e-9)
    assert not np.allclose(fixed["arima"]["p50"].to_numpy(), searched)


def _history(rec_history: pd.DataFrame, values) -> pd.DataFrame:
    return pd.DataFrame({"ds": pd.date_range(rec_history["ds"].iloc[0], periods=len(values), freq="MS"), "y": values})


def test_each_check_sends_a_series_back_to_the_competition(kept):
    full, first = kept
    rec = first.selection.by_id()["north/A"]
    one = full[full["unique_id"] == "north/A"][["ds", "y"]].reset_index(drop=True)
    y = one["y"].to_numpy()
    assert reuse_status(rec, one, "smooth", "M", 6) == "reused"
    assert reuse_status(rec, one.iloc[:47], "smooth", "M", 6) == "reused"  # the same history again
    revised = y.copy()
    revised[10] += 1
    assert reuse_status(rec, _history(one, revised), "smooth", "M", 6) == "revised"
    assert reuse_status(rec, one.iloc[:40], "smooth", "M", 6) == "revised"  # shorter than what was seen
    later = one.assign(ds=one["ds"] + pd.DateOffset(months=1))
    assert reuse_status(rec, later, "smooth", "M", 6) == "revised"  # another start
    assert reuse_status(rec, one, "erratic", "M", 6) == "class"
    assert reuse_status(rec, one, "smooth", "M", 0) == "schedule"
    longer = np.concatenate([y, np.full(6, y[-12:-6].mean())])
    assert reuse_status(rec, _history(one, longer), "smooth", "M", 6) == "schedule"  # 7 periods since the competition
    # drift: the new actual far from the kept P50, on the MASE scale of the history the record saw
    scale = np.mean(np.abs(y[12:47] - y[:35]))
    off = rec.next_p50[0] + 1.01 * DRIFT_FACTOR * rec.backtest_mase * scale
    near = rec.next_p50[0] + 0.99 * DRIFT_FACTOR * rec.backtest_mase * scale
    assert reuse_status(rec, _history(one, np.append(y[:47], off)), "smooth", "M", 6) == "drift"
    assert reuse_status(rec, _history(one, np.append(y[:47], near)), "smooth", "M", 6) == "reused"


def test_the_panel_reports_why_series_competed(kept):
    full, first = kept
    sel = first.selection.model_copy(update={"series": [first.selection.series[0]]})
    out = _run(full, selection=sel, reselect_after=6)
    assert dict(zip(out.series["unique_id"], out.series["selection"])) == {"north/A": "reused", "north/B": "new"}
    out = _run(full, selection=first.selection, reselect_after=0)
    assert set(out.series["selection"]) == {"schedule"}
    assert all(r.selected_n_obs == 48 for r in out.selection.series)  # the competition ran again
    other = _run(full.groupby("unique_id").head(48), selection=first.selection, horizon=4)
    assert set(other.series["selection"]) == {"options"}
    fast = _run(full, selection=first.selection, select=False)
    assert fast.selection is None and set(fast.series["selection"]) == {"none"}


def test_a_pool_that_cannot_fit_competes_again(kept, monkeypatch):
    """When fewer than two of a kept pool fit, the series runs the competition (status ``failed``)."""
    import forecasting.engine as engine

    full, first = kept
    rec = first.selection.series[0]
    sel = first.selection.model_copy(update={"series": [rec.model_copy(update={"pool": ["arima", "theta"]})]})
    real = engine.forecast_models

    def arima_and_theta_fail(names, *args, **kwargs):
        out = real(names, *args, **kwargs)
        return {n: ValueError("refused") if n in ("arima", "theta") else f for n, f in out.items()}

    monkeypatch.setattr(engine, "forecast_models", arima_and_theta_fail)
    out = _run(full[full["unique_id"] == rec.unique_id], selection=sel)
    assert out.series["selection"].iloc[0] == "failed"
    method = out.series["method"].iloc[0]
    assert "arima" not in method.split(":")[-1].split("+") and out.selection.series[0].selected_n_obs == 48


# --- the file -----------------------------------------------------------------------------------


def test_the_file_round_trips(kept, tmp_path):
    _, first = kept
    path = tmp_path / "sel.json"
    write_selection(path, first.selection)
    assert read_selection(path) == first.selection
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d["series"][0].update(pool=["arima", "magic"]), "series.0.pool"),
        (lambda d: d["series"][0].update(pool=[]), "series.0.pool"),
        (lambda d: d["series"][0].update(next_p50=[1.0, float("nan")]), "series.0.next_p50"),
        (lambda d: d["series"][0].update(backtest_mase=float("inf")), "series.0.backtest_mase"),
        (lambda d: d["series"][0]["ets"].update(components="XYZW"), "series.0.ets.components"),
        (lambda d: d["series"][0]["arima"].update(arma=[1, 2, 3]), "series.0.arima.arma"),
        (lambda d: d["series"][0].update(fingerprint="not-hex"), "series.0.fingerprint"),
        (lambda d: d["series"][0].update(unique_id="x" * 600), "series.0.unique_id"),
        (lambda d: d["series"][0].update(extra=1), "series.0.extra"),
        (lambda d: d["options"].update(freq="D"), "options.freq"),
        (lambda d: d.update(version=9), "version"),
    ],
)
def test_a_bad_file_is_refused_naming_the_field(kept, change, field):
    _, first = kept
    data = json.loads(first.selection.model_dump_json())
    change(data)
    with pytest.raises(SelectionError) as info:
        parse_selection(data)
    assert info.value.field == field or info.value.field.startswith(field + ".")


def test_a_file_that_is_not_json_is_refused(tmp_path):
    path = tmp_path / "sel.json"
    path.write_text("{not json")
    with pytest.raises(SelectionError, match="not JSON"):
        read_selection(path)


def test_fingerprint_sees_every_value():
    y = np.arange(30, dtype=float)
    z = y.copy()
    z[29] += 1e-9
    assert fingerprint(y) != fingerprint(z) and fingerprint(y) == fingerprint(y.copy())


# --- the command line ------------------------------------------------------------------------------


def test_cli_keeps_and_reuses_the_selection(tmp_path):
    from jointplan.cli import app

    full = _panel().rename(columns={"unique_id": "sku", "ds": "date", "y": "quantity"})
    full[full["date"] < full["date"].max()].to_csv(tmp_path / "prev.csv", index=False)
    full.to_csv(tmp_path / "full.csv", index=False)
    sel = tmp_path / "kept" / "selection.json"
    runner = CliRunner()
    args = ["-H", "6", "--windows", "2", "--backend", "serial", "--selection", str(sel), "--reselect-after", "6"]
    first = runner.invoke(app, ["forecast", str(tmp_path / "prev.csv"), "-o", str(tmp_path / "f1.csv"), *args])
    assert first.exit_code == 0, first.output
    assert "reused for 0 of 2 series; competed: 2 without a kept selection" in " ".join(first.output.split())
    assert Selection.model_validate_json(sel.read_text()).series[0].n_obs == 47
    second = runner.invoke(app, ["forecast", str(tmp_path / "full.csv"), "-o", str(tmp_path / "f2.csv"), *args])
    assert second.exit_code == 0, second.output
    assert "reused for 2 of 2 series" in " ".join(second.output.split())
    again = runner.invoke(app, ["forecast", str(tmp_path / "full.csv"), "-o", str(tmp_path / "f3.csv"), *args, "--reselect"])
    assert again.exit_code == 0 and "reused for 0 of 2" in " ".join(again.output.split())
    assert Selection.model_validate_json(sel.read_text()).series[0].selected_n_obs == 48


def test_cli_refuses_a_bad_selection_file_and_the_fast_mode(tmp_path):
    from jointplan.cli import app

    _panel().rename(columns={"unique_id": "sku", "ds": "date", "y": "quantity"}).to_csv(tmp_path / "h.csv", index=False)
    bad = tmp_path / "sel.json"
    bad.write_text(json.dumps({"version": 1, "options": {"freq": "M", "horizon": 6, "n_windows": 2, "pool": 5, "lean": True},
                               "series": [{"unique_id": "x"}]}))
    runner = CliRunner()
    out = runner.invoke(app, ["forecast", str(tmp_path / "h.csv"), "-H", "6", "-o", str(tmp_path / "f.csv"), "--selection", str(bad)])
    assert out.exit_code == 2 and "series.0.series_class: Field required" in " ".join(out.output.split())
    fast = runner.invoke(app, ["forecast", str(tmp_path / "h.csv"), "-H", "6", "-o", str(tmp_path / "f.csv"), "--fast",
                               "--selection", str(tmp_path / "new.json")])
    assert fast.exit_code == 2 and "fast mode has no model competition" in " ".join(fast.output.split())


@pytest.mark.slow
def test_reuse_gives_the_same_tables_on_every_backend(kept):
    full, first = kept
    serial = _run(full, selection=first.selection)
    pooled = forecast_panel(full, **{**RUN, "backend": "processes"}, workers=2, selection=first.selection)
    pd.testing.assert_frame_equal(serial.forecasts, pooled.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(serial.series, pooled.series, check_exact=True)
    assert serial.selection == pooled.selection
