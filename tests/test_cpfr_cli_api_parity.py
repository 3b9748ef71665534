"""The command line and the service run one CPFR workflow (forecasting.workflow): the same
history, statistical runs, submissions and resolutions, put through the ``jointplan`` commands
on a store directory and through the API on its database, give the same exceptions, the same
consensus (values, bands, bases and trace), the same forecast value added and the same filled
scenario.

Both sides forecast on their own: ``jointplan forecast --store`` and a forecast run of the
service's worker (one backtest window, no pooling: a real model competition that stays quick).
An earlier statistical run, as of December 2025 (the engine's fast forecast of the history up to
2025), is kept in both stores by the workflow's own write, so that forecast value added has a
statistical forecast made before the 2026 periods to score the partners' first round against."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.jobs.worker import Worker
from api.migrate import upgrade
from api.models import ForecastSubmission
from api.store import DatabaseStore
from api_world import history_csv, make_app, seed_users
from api.db import make_engine, session_factory
from forecasting.engine import forecast_panel
from forecasting.store import FileStore
from forecasting.workflow import actuals, save_statistical_run
from jointplan.cli import app
from scenarios.io import EXAMPLES_DIR

HISTORY = EXAMPLES_DIR / "small_chain_history.csv"
RULES = EXAMPLES_DIR / "small_chain_collab.yaml"
EARLY_RUN = "2025-12-10"
AUTHORS = {"shops": "ana", "wholesale": "wil"}  # the partner users of tests/api_world.py
runner = CliRunner()


def _cli(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


def _ok(r, code=201):
    assert r.status_code == code, r.text
    return r.json()


def _early_run():
    """The statistical forecast as of December 2025: fast, on the history up to 2025, for 2026."""
    hist = actuals(HISTORY, freq="M")
    return forecast_panel(hist[hist["ds"] < "2026-01-01"], 12, "M", select=False, backend="serial", progress=None)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The same inputs through the command line (a store directory) and the API (SQLite)."""
    root = tmp_path_factory.mktemp("parity")
    store = root / "store"
    url = f"sqlite:///{root / 'service.db'}"
    upgrade(url)
    engine = make_engine(url)
    tokens, _ = seed_users(engine)
    client = TestClient(make_app(url, engine))
    h = {u: {"Authorization": f"Bearer {tokens[u]}"} for u in ("pl", "ana", "wil")}
    csv = {"Content-Type": "text/csv"}

    # shared history: one file for the command line; each partner uploads the series it owns
    for user, site in (("ana", "store-north"), ("wil", "store-south")):
        _ok(client.post("/uploads", content=history_csv(site), headers={**h[user], **csv}))

    # statistical run 1, as of December 2025: the same run kept in both stores
    early = _early_run()
    save_statistical_run(FileStore(store), early, author="pl", submitted_at=EARLY_RUN)
    with session_factory(engine)() as s:
        save_statistical_run(DatabaseStore(s), early, author="pl", submitted_at=EARLY_RUN)

    # statistical run 2: each side runs its own model competition on the whole history
    _cli("forecast", HISTORY, "--horizon", 12, "--freq", "M", "--out", root / "forecast.csv", "--backend", "serial",
         "--windows", 1, "--pool", 1, "--store", store, "--author", "pl")
    _ok(client.post("/forecast-runs", json={"horizon": 12, "freq": "M", "n_windows": 1, "pool": 1}, headers=h["pl"]),
        202)
    assert Worker(engine, lease_seconds=120).run(once=True) == 1

    # both partners' two forecast rounds, each dated to its round
    for partner, user in AUTHORS.items():
        table = pd.read_csv(EXAMPLES_DIR / f"small_chain_submissions_{partner}.csv")
        for round_day, rows in table.groupby("round", sort=True):
            path = root / f"{partner}-{round_day}.csv"
            rows.drop(columns="round").to_csv(path, index=False)
            _cli("submit", partner, path, "--author", user, "--store", store, "--keys", "product,site",
                 "--submitted-at", round_day)
            sub = _ok(client.post("/submissions", content=path.read_text(), headers={**h[user], **csv}))
            with session_factory(engine)() as s:
                s.get(ForecastSubmission, sub["id"]).created_at = datetime.fromisoformat(round_day).replace(
                    tzinfo=timezone.utc)
                s.commit()
    yield {"root": root, "store": store, "client": client, "h": h, "engine": engine}
    client.close()
    engine.dispose()


@pytest.mark.slow
def test_both_sides_forecast_the_same(both):
    """The premise: the command line's and the worker's model competitions agree."""
    with session_factory(both["engine"])() as s:
        api_run = DatabaseStore(s).statistical_forecast()
    cli_run = FileStore(both["store"]).statistical_forecast()
    joined = cli_run.merge(api_run, on=["unique_id", "ds"], suffixes=("_cli", "_api"))
    assert len(joined) == len(cli_run) == len(api_run) == 4 * 12
    for q in ("p10", "p50", "p90"):
        assert joined[f"{q}_cli"].to_numpy() == pytest.approx(joined[f"{q}_api"].to_numpy(), rel=1e-9)


@pytest.fixture(scope="module")
def exceptions(both):
    """The exceptions listed by ``jointplan exceptions`` and by a scan of the service."""
    out = both["root"] / "exceptions.csv"
    _cli("exceptions", "--rules", RULES, "--store", both["store"], "--history", HISTORY, "--out", out)
    cli = pd.read_csv(out, dtype={"exception_id": str})
    c, h = both["client"], both["h"]["pl"]
    _ok(c.post("/exception-scans", json={"rules": yaml.safe_load(RULES.read_text()), "freq": "M"}, headers=h), 200)
    page = _ok(c.get("/exceptions", params={"limit": 200}, headers=h), 200)
    assert page["total"] == len(page["items"])
    return cli, pd.DataFrame.from_records(page["items"])


def test_same_exceptions(exceptions):
    cli, api = exceptions
    assert len(cli) > 5 and set(cli["rule"]) == {"retailer-vs-statistical", "wholesaler-vs-retailer", "forecast-error"}
    assert sorted(cli["exception_id"]) == sorted(api["id"])
    m = cli.merge(api, left_on="exception_id", right_on="id", suffixes=("_cli", "_api"))
    for col in ("unique_id", "rule", "kind", "sources", "values", "severity", "owner", "message"):
        assert (m[f"{col}_cli"].astype(str) == m[f"{col}_api"].astype(str)).all(), col
    assert m["measure_cli"].to_numpy() == pytest.approx(m["measure_api"].to_numpy(), rel=1e-9)
    ds_cli = pd.to_datetime(m["ds_cli"]).dt.strftime("%Y-%m-%d").fillna("")
    assert (ds_cli == m["ds_api"].fillna("")).all()


@pytest.fixture(scope="module")
def consensus(both, exceptions):
    """Two resolutions recorded on each side, then the consensus of each, with its FVA and scenario."""
    cli, _ = exceptions
    c, h = both["client"], both["h"]["pl"]
    promo = cli[(cli["unique_id"] == "widget/store-north") & (cli["rule"] == "retailer-vs-statistical")].iloc[0]
    other = cli[cli["rule"] == "wholesaler-vs-retailer"].iloc[0]
    for exc, how in ((promo, {"action": "adjust", "value": 1999.0, "reason": "agreed in S&OP"}),
                     (other, {"action": "accept_source", "source": "shops", "reason": "shops know the shelf"})):
        option = ["--adjust", how["value"]] if how["action"] == "adjust" else ["--accept", how["source"]]
        _cli("resolve", exc["unique_id"], "--author", "pl", *option, "--reason", how["reason"],
             "--period", str(exc["ds"])[:10], "--exception", exc["exception_id"], "--store", both["store"])
        _ok(c.post(f"/exceptions/{exc['exception_id']}/resolve", json=how, headers=h))
    out = both["root"] / "consensus.csv"
    scenario_out = both["root"] / "scenario.yaml"
    printed = _cli("consensus", "--out", out, "--store", both["store"], "--history", HISTORY, "--rule", "weighted",
                   "--scenario", "small_chain", "--scenario-out", scenario_out, "--service-level", 0.95)
    api = _ok(c.post("/consensus", json={"rule": "weighted", "freq": "M"}, headers=h))
    return {"cli": pd.read_csv(out), "trace": pd.read_csv(out.with_name("consensus.trace.csv"), keep_default_na=False),
            "printed": printed, "api": api, "scenario": yaml.safe_load(scenario_out.read_text())}


def test_same_consensus_values_bands_and_bases(consensus):
    cli = consensus["cli"].assign(unique_id=lambda d: d["product"] + "/" + d["site"], ds=lambda d: d["date"])
    api = pd.DataFrame.from_records(consensus["api"]["items"])
    m = cli.merge(api, on=["unique_id", "ds"], suffixes=("_cli", "_api"))
    assert len(m) == len(cli) == len(api) == 4 * 12
    for q in ("p10", "p50", "p90"):
        assert m[f"{q}_cli"].to_numpy() == pytest.approx(m[f"{q}_api"].to_numpy(), rel=1e-9), q
    assert (m["basis_cli"] == m["basis_api"]).all()
    assert {"adjusted", "accepted:shops", "weighted"} <= set(m["basis_cli"])
    assert m.loc[m["basis_cli"] == "adjusted", "p50_cli"].tolist() == [1999.0]


def test_same_consensus_trace(consensus):
    cli = consensus["trace"]
    api = pd.DataFrame.from_records(consensus["api"]["trace"]).fillna("")
    m = cli.merge(api, on=["unique_id", "ds"], suffixes=("_cli", "_api"))
    assert len(m) == len(cli) == len(api)
    for col in ("basis", "values", "weights", "author", "reason", "resolution_id", "exception_id", "note"):
        bad = m[m[f"{col}_cli"].astype(str) != m[f"{col}_api"].astype(str)]
        assert bad.empty, (col, bad[[f"{col}_cli", f"{col}_api"]].head(3).to_dict("records"))
    assert m["value_cli"].to_numpy() == pytest.approx(m["value_api"].to_numpy(), rel=1e-9)
    assert m["rule_value_cli"].to_numpy() == pytest.approx(m["rule_value_api"].to_numpy(), rel=1e-9)
    assert set(m["resolution_id_cli"]) == {"", "R0001", "R0002"}


def test_same_forecast_value_added(both, consensus):
    report = _ok(both["client"].get("/fva", params={"freq": "M"}, headers=both["h"]["pl"]), 200)
    assert {r["partner"] for r in report["by_partner"]} == {"shops", "wholesale"}
    lines = consensus["printed"].splitlines()
    for r in report["by_partner"]:
        row = next(line.split() for line in lines if line.strip().startswith(r["partner"] + " "))
        assert row[1:] == [str(r["series"]), f"{r['wape_statistical']:.1%}", f"{r['wape_partner']:.1%}",
                           f"{100 * r['fva_wape']:+.1f}", f"{r['series_improved']}/{r['series']}"], row


def test_same_scenario_from_the_consensus(both, consensus):
    from api.routes.scenarios import EXAMPLE_CONTENT

    c, h = both["client"], both["h"]["pl"]
    created = c.post("/scenarios", json={"name": "parity", "content": EXAMPLE_CONTENT}, headers=h)
    filled = _ok(c.post(f"/scenarios/{created.json()['scenario_id']}/from-consensus",
                        json={"consensus_version": consensus["api"]["version"], "service_level": 0.95},
                        headers={**h, "If-Match": created.headers["ETag"]}))["content"]
    cli = consensus["scenario"]
    assert len(cli["demand"]) == len(filled["demand"]) == 4
    demand = {(d["site"], d["product"]): d["quantity"] for d in filled["demand"]}
    for d in cli["demand"]:
        assert d["quantity"] == pytest.approx(demand[(d["site"], d["product"])], rel=1e-9)
    stock = {(s["id"], p["product"]): p.get("safety_stock") for s in filled["sites"] for p in s.get("products", [])}
    set_cli = {(s["id"], p["product"]): p["safety_stock"] for s in cli["sites"] for p in s.get("products", [])
               if "safety_stock" in p}
    assert len(set_cli) >= 4
    for key, values in set_cli.items():
        assert values == pytest.approx(stock[key], rel=1e-9), key
