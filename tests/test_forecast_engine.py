"""Panel forecast engine: outputs, input checks, and identical results across backends."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import backtest_series
from forecasting.models import PROPHET_CONFIGS, candidate_set, forecast_models
from forecasting.engine import (
    BATCHES_PER_WORKER,
    SCHEDULER_ENV,
    ForecastOptions,
    _fast_regular,
    _split_panel,
    combine_forecasts,
    forecast_panel,
    forecast_unit,
    task_batches,
)


def _panel(n_obs: int = 30) -> pd.DataFrame:
    """Six monthly series of different classes, with partner/product keys."""
    rng = np.random.default_rng(0)
    t = np.arange(n_obs)
    rows = []
    shapes = {
        ("north", "A"): 100 + 20 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 4, n_obs),
        ("north", "B"): 40 + 0.8 * t + rng.normal(0, 3, n_obs),
        ("south", "A"): np.where(rng.random(n_obs) < 0.3, rng.poisson(3, n_obs) + 1, 0),
        ("south", "B"): 10 + rng.gamma(1.0, 8.0, n_obs),
        ("east", "A"): 60 + 10 * np.cos(2 * np.pi * t / 12) + rng.normal(0, 6, n_obs),
    }
    for (partner, product), y in shapes.items():
        rows.append(pd.DataFrame({"partner": partner, "product": product,
                                  "ds": pd.date_range("2021-01-01", periods=n_obs, freq="MS"), "y": y}))
    rows.append(pd.DataFrame({"partner": "east", "product": "B",  # a new item: short history
                              "ds": pd.date_range("2023-01-01", periods=6, freq="MS"), "y": [5, 7, 6, 8, 9, 8]}))
    df = pd.concat(rows, ignore_index=True)
    df["y"] = np.maximum(df["y"].astype(float), 0).round(1)
    df.insert(0, "unique_id", df["partner"] + "/" + df["product"])
    return df


def test_panel_forecast_tables():
    history = _panel()
    calls = []
    out = forecast_panel(history, 6, "M", backend="serial", n_windows=2, progress=lambda d, t: calls.append((d, t)))
    fc = out.forecasts
    assert list(fc.columns) == ["unique_id", "partner", "product", "ds", "p10", "p50", "p90", "method"]
    assert len(fc) == 6 * 6 and fc["unique_id"].is_monotonic_increasing
    q = fc[["p10", "p50", "p90"]].to_numpy()
    assert (q >= 0).all() and (q[:, 0] <= q[:, 1]).all() and (q[:, 1] <= q[:, 2]).all()
    assert fc.loc[fc["unique_id"] == "east/B", "ds"].min() == pd.Timestamp("2023-07-01")
    assert calls[0] == (0, 6) and calls[-1] == (6, 6)

    acc = out.accuracy
    assert {"unique_id", "model", "mase", "wape", "bias", "n_windows", "selected"} <= set(acc.columns)
    chosen = acc[acc["selected"]].set_index("unique_id")
    series = out.series.set_index("unique_id")
    # one winner per backtested series; the forecast pools the five best on the backtest
    for uid, row in chosen.iterrows():
        assert series.loc[uid, "winner"] == row["model"]
        scored = acc[(acc["unique_id"] == uid) & np.isfinite(acc["mase"].astype(float))].sort_values("mase", kind="stable")
        pooled = acc[(acc["unique_id"] == uid) & acc["pooled"]]
        # the five best, with at most one Prophet configuration (the best-ranked one)
        prophets = scored[scored["model"].isin(PROPHET_CONFIGS)]
        eligible = scored[~scored["model"].isin(prophets["model"].iloc[1:])]
        assert len(pooled) == min(5, len(eligible)) and row["model"] in set(pooled["model"])
        assert pooled["model"].isin(PROPHET_CONFIGS).sum() <= 1
        left_out = eligible[~eligible["model"].isin(pooled["model"])]
        assert left_out.empty or pooled["mase"].max() <= left_out["mase"].min() + 1e-12
        method = series.loc[uid, "method"]
        assert method.startswith(f"pool{len(pooled)}:") and set(method.split(":")[1].split("+")) == set(pooled["model"])
        assert set(fc.loc[fc["unique_id"] == uid, "method"]) == {method}
    assert chosen.index.is_unique
    assert (acc.groupby("unique_id")["model"].apply(lambda m: "seasonal_naive" in set(m))).all()
    assert series.loc["south/A", "series_class"] in ("intermittent", "lumpy")
    assert series.loc["south/A", "winner"] in ("croston_sba", "tsb", "adida", "imapa", "seasonal_naive")

    assert out.wins["series"].sum() == 6 and out.wins["share"].sum() == pytest.approx(1.0)
    s = out.summary
    assert s["series"] == 6 and s["mean_mase_selected"] <= s["mean_mase_seasonal_naive"]
    t = out.timings
    assert t["backend"] == "serial" and 0 < t["model_seconds"] <= t["series_seconds"] <= t["total_seconds"]
    assert 0 <= t["prophet_seconds"] <= t["model_seconds"]


@pytest.mark.parametrize("lean", [True, pytest.param(False, marks=pytest.mark.slow)])
def test_pooled_forecast_is_the_mean_of_its_members_forecasts(lean):
    """In the lean competition the members are fitted in the ARIMA/ETS forms the backtest searched."""
    history = _panel()
    uid = "north/A"
    out = forecast_panel(history[history["unique_id"] == uid], 6, "M", backend="serial", n_windows=2, progress=False,
                         lean=lean)
    members = out.series.set_index("unique_id").loc[uid, "method"].split(":")[1].split("+")
    one = history[history["unique_id"] == uid][["ds", "y"]].reset_index(drop=True)
    accuracy = out.accuracy
    best_prophet = accuracy[accuracy["model"].str.startswith("prophet")].sort_values("mase", kind="stable")["model"].iloc[0]
    kind = out.series.set_index("unique_id").loc[uid, "series_class"]
    specs = backtest_series(one, 6, "M", candidate_set(kind), n_windows=2, reuse=True).specs if lean else None
    assert not lean or set(specs) == {"arima", "ets"}
    singles = forecast_models(members, one, 6, "M", prophet_config=best_prophet, specs=specs)
    expected = np.mean([singles[m]["p50"].to_numpy() for m in members], axis=0)
    np.testing.assert_allclose(out.forecasts["p50"].to_numpy(), np.clip(expected, 0, None), rtol=1e-9, atol=1e-9)
    single = forecast_panel(history[history["unique_id"] == uid], 6, "M", backend="serial", n_windows=2, pool=1,
                            progress=False, lean=lean)
    assert single.series["method"].iloc[0] == out.series["winner"].iloc[0]


def test_without_selection_each_class_gets_its_default_method():
    out = forecast_panel(_panel(), 4, "M", select=False, backend="serial", progress=True)  # rich bar
    methods = out.series.set_index("unique_id")["method"]
    classes = out.series.set_index("unique_id")["series_class"]
    for uid, kind in classes.items():
        expected = {"smooth": "combo_fast", "erratic": "combo_fast", "intermittent": "croston_sba",
                    "lumpy": "croston_sba", "short": "naive"}[kind]  # east/B has 6 < 12 months
        assert methods[uid] == expected, uid
    assert out.accuracy.empty and "mean_mase_selected" not in out.summary


def test_regressor_future_values_move_the_forecast():
    rng = np.random.default_rng(1)
    n = 60
    promo = (np.arange(n) % 5 == 0).astype(float)
    history = pd.DataFrame({"unique_id": "p", "ds": pd.date_range("2022-01-03", periods=n, freq="W-MON"),
                            "y": 50 + 30 * promo + rng.normal(0, 2, n), "promo": promo})
    future = pd.DataFrame({"unique_id": "p", "ds": pd.date_range("2023-02-27", periods=4, freq="W-MON"),
                           "promo": [0.0, 1.0, 0.0, 0.0]})
    out = forecast_panel(history, 4, "W", select=False, backend="serial", progress=False,
                         regressors=["promo"], future=future)
    p50 = out.forecasts["p50"].to_numpy()
    assert p50[1] - max(p50[0], p50[2]) > 20
    with pytest.raises(ValueError, match="future"):
        forecast_panel(history, 4, "W", select=False, backend="serial", progress=False, regressors=["promo"])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.assign(y=d["y"] - 1000), "negative"),
        (lambda d: pd.concat([d, d.iloc[[0]]]), "duplicate"),
        (lambda d: d.drop(index=3), "consecutive"),
        (lambda d: d.assign(price=np.arange(len(d))), "price"),
        (lambda d: d.drop(columns="y"), "missing column"),
    ],
)
def test_bad_history_is_refused(change, message):
    history = _panel()
    with pytest.raises(ValueError, match=message):
        forecast_panel(change(history), 3, "M", backend="serial", progress=False)


def test_bad_options_are_refused():
    history = _panel()
    with pytest.raises(ValueError, match="horizon"):
        forecast_panel(history, 0, "M", backend="serial", progress=False)
    with pytest.raises(ValueError, match="freq"):
        forecast_panel(history, 3, "D", backend="serial", progress=False)
    with pytest.raises(ValueError, match="backend"):
        forecast_panel(history, 3, "M", backend="threads", progress=False)
    with pytest.raises(ValueError, match="scheduler_address"):
        forecast_panel(history, 3, "M", backend="processes", scheduler_address="tcp://127.0.0.1:1", progress=False)


@pytest.mark.slow
def test_serial_processes_and_dask_give_identical_results(monkeypatch):
    from distributed import LocalCluster

    history = _panel()
    kwargs = dict(select=True, n_windows=2, progress=False)
    serial = forecast_panel(history, 6, "M", backend="serial", **kwargs)
    # workers forked from a single-threaded caller, and started by a forkserver when the caller
    # runs other threads (a fork could copy a lock one of them holds)
    monkeypatch.setattr("forecasting.engine.threading.active_count", lambda: 1)
    pooled = forecast_panel(history, 6, "M", backend="processes", workers=2, **kwargs)
    monkeypatch.undo()
    stop = threading.Event()
    other_thread = threading.Thread(target=stop.wait)
    other_thread.start()
    try:
        served = forecast_panel(history, 6, "M", backend="processes", workers=2, **kwargs)
    finally:
        stop.set()
        other_thread.join()
    assert pooled.timings["start_method"] == "fork" and served.timings["start_method"] == "forkserver"
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_address = forecast_panel(history, 6, "M", backend="dask", scheduler_address=cluster.scheduler_address, **kwargs)
        monkeypatch.setenv(SCHEDULER_ENV, cluster.scheduler_address)
        from_env = forecast_panel(history, 6, "M", **kwargs)  # backend auto + the environment variable
    assert pooled.timings["backend"] == "processes" and pooled.timings["workers"] == 2
    assert on_address.timings["backend"] == "dask" and from_env.timings["backend"] == "dask"
    for other in (pooled, served, on_address, from_env):
        pd.testing.assert_frame_equal(serial.forecasts, other.forecasts, check_exact=True)
        pd.testing.assert_frame_equal(serial.accuracy, other.accuracy, check_exact=True)
        pd.testing.assert_frame_equal(serial.wins, other.wins, check_exact=True)
        assert serial.summary == other.summary


def test_robust_averages_of_a_pool():
    # one member running away (100) moves the mean, not the median or the trimmed mean
    stack = np.array([[1.0, 2.0], [5.0, 0.0], [3.0, 3.0], [100.0, 4.0], [2.0, 1.0]])
    np.testing.assert_allclose(combine_forecasts(stack, "mean"), [22.2, 2.0])
    np.testing.assert_allclose(combine_forecasts(stack, "median"), [3.0, 2.0])
    np.testing.assert_allclose(combine_forecasts(stack, "trimmed"), [10 / 3, 2.0])  # mean of 2, 3, 5 and of 1, 2, 3
    np.testing.assert_allclose(combine_forecasts(stack[:4], "trimmed"), stack[:4].mean(axis=0))  # < 5: plain mean
    with pytest.raises(ValueError, match="combine"):
        combine_forecasts(stack, "mode")


@pytest.mark.slow
def test_pool_can_be_averaged_by_a_trimmed_mean():
    history = _panel()
    # the competition before 2026-12-03 (every form searched in each fit): members refitted alone below
    out = forecast_panel(history, 6, "M", backend="serial", n_windows=2, combine="trimmed", progress=False, lean=False)
    series = out.series.set_index("unique_id")
    uid = "north/A"
    method = series.loc[uid, "method"]
    assert method.startswith("pool5-trimmed:")
    members = method.split(":")[1].split("+")
    prophet = next((m for m in members if m in PROPHET_CONFIGS), "prophet")
    one = history[history["unique_id"] == uid][["ds", "y"]].reset_index(drop=True)
    fits = forecast_models(members, one, 6, "M", prophet_config=prophet)
    p50 = np.sort(np.array([fits[m]["p50"].to_numpy() for m in members]), axis=0)[1:-1].mean(axis=0)
    got = out.forecasts.loc[out.forecasts["unique_id"] == uid, "p50"].to_numpy()
    np.testing.assert_allclose(got, np.clip(p50, 0, None), rtol=1e-12)
    with pytest.raises(ValueError, match="combine"):
        forecast_panel(history, 6, "M", backend="serial", combine="mode", progress=False)


def test_fast_mode_batches_series_into_fewer_tasks():
    units = list(range(300))
    batches = task_batches(units, 2, select=False)
    assert len(batches) == 2 * BATCHES_PER_WORKER
    assert [u for b in batches for u in b] == units  # every unit once, in order
    assert {len(b) for b in batches} <= {18, 19}
    assert task_batches(units[:5], 2, select=False) == [[u] for u in units[:5]]
    assert task_batches(units[:40], 2, select=True) == [[u] for u in units[:40]]
    assert task_batches([], 2, select=False) == []


@pytest.mark.slow
def test_fast_mode_batches_give_the_serial_result(monkeypatch):
    history = _panel()
    serial = forecast_panel(history, 6, "M", select=False, backend="serial", progress=False)
    monkeypatch.setattr("forecasting.engine.BATCHES_PER_WORKER", 1)  # 2 workers: 2 tasks of 3 series
    for backend in ("processes", "dask"):
        seen = []
        batched = forecast_panel(history, 6, "M", select=False, backend=backend, workers=2,
                                 progress=lambda done, total: seen.append((done, total)))
        pd.testing.assert_frame_equal(serial.forecasts, batched.forecasts, check_exact=True)
        assert seen == [(0, 6), (3, 6), (6, 6)]


def test_fast_mode_batch_path_equals_the_one_series_path():
    """Regular series of a fast-mode batch are fitted on the panel at once (statsforecast's batch
    path); each must get exactly the forecast the one-series path gives it."""
    history = _panel()
    options = ForecastOptions(horizon=6, freq="M", select=False)
    units, _ = _split_panel(history, "M", 6, None, [], None)
    batched = _fast_regular(units, options)
    assert batched, "no regular series went the batch path"
    for unit in units:
        if unit.unique_id not in batched:
            continue
        one = forecast_unit(unit, options)
        assert batched[unit.unique_id].method == one.method == "combo_fast"
        pd.testing.assert_frame_equal(batched[unit.unique_id].forecast, one.forecast, check_exact=True)
        fc = one.forecast
        assert (fc["p10"] <= fc["p50"]).all() and (fc["p50"] <= fc["p90"]).all() and (fc["p10"] >= 0).all()


def test_local_cluster_workers_run_without_the_stack_profiler():
    import dask
    from distributed import Client

    from forecasting.engine import DASK_WORKER_CONFIG, local_cluster

    assert dask.config.get("distributed.worker.profile.enabled") is True  # Dask's default, left alone here
    with local_cluster(2) as cluster, Client(cluster) as client:
        seen = client.run(lambda: {key: dask.config.get(key) for key in DASK_WORKER_CONFIG})
        profiles = client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
    assert len(seen) == 2 and all(config == DASK_WORKER_CONFIG for config in seen.values())
    assert not any(profiles.values())  # no sampling callback registered on the workers
    assert dask.config.get("distributed.worker.profile.enabled") is True


@pytest.mark.slow
def test_dask_backend_starts_its_own_local_cluster():
    history = _panel()
    serial = forecast_panel(history, 6, "M", backend="serial", n_windows=2, progress=False)
    local = forecast_panel(history, 6, "M", backend="dask", workers=2, n_windows=2, progress=False)
    pd.testing.assert_frame_equal(serial.forecasts, local.forecasts, check_exact=True)
    pd.testing.assert_frame_equal(serial.accuracy, local.accuracy, check_exact=True)
