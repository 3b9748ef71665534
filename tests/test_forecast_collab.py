"""CPFR collaboration: versioned submissions, exceptions across sources, consensus with traced
overrides, and forecast value added, on small hand-made cases whose answers are worked out here."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.consensus import Resolution, ResolutionStore, build_consensus, inverse_wape_weights
from forecasting.exceptions import CollaborationRules, RulesError, find_exceptions
from forecasting.fva import forecast_value_added, source_accuracy
from forecasting.submissions import SubmissionError, SubmissionStore

W1, W2, W3 = pd.to_datetime(["2027-01-04", "2027-01-11", "2027-01-18"])


def _partner_table(values, uid="widget/north", dates=("2027-01-04", "2027-01-11")):
    return pd.DataFrame({"unique_id": uid, "ds": list(dates), "value": values})


def _src(uid, ds, **by_source):
    return pd.DataFrame([{"unique_id": uid, "ds": ds, "source": s, "value": v} for s, v in by_source.items()])


# ----------------------------------------------------------------------------- submissions


def test_two_submissions_are_versions_one_and_two(tmp_path):
    store = SubmissionStore(tmp_path)
    first = store.submit("shops", "ann", _partner_table([100, 110]), submitted_at="2026-12-01T09:00:00")
    second = store.submit("shops", "bob", _partner_table([120, 110]), submitted_at="2026-12-08T09:00:00", note="promo")
    assert [s.version for s in store.versions("shops")] == [1, 2]
    assert (first.author, second.author, second.note) == ("ann", "bob", "promo")
    assert first.content_hash != second.content_hash
    assert str(second.submitted_at) == "2026-12-08 09:00:00+00:00"  # naive times are UTC
    assert store.load("shops")["value"].tolist() == [120, 110]  # latest
    assert store.load("shops", version=1)["value"].tolist() == [100, 110]  # old one still there
    assert store.latest_sources(as_of="2026-12-05")["value"].tolist() == [100, 110]
    # a fresh store object reads the same manifest
    again = SubmissionStore(tmp_path)
    assert [(s.version, s.content_hash) for s in again.versions()] == [(1, first.content_hash), (2, second.content_hash)]


def test_hash_is_of_the_content_and_tampering_is_caught(tmp_path):
    store = SubmissionStore(tmp_path)
    a = store.submit("shops", "ann", _partner_table([100, 110]))
    b = store.submit("shops", "ann", _partner_table([100, 110]).iloc[::-1])  # same rows, other order
    assert a.content_hash == b.content_hash and b.version == 2
    path = tmp_path / a.file
    path.write_text(path.read_text().replace("100.0", "999.0"))
    with pytest.raises(SubmissionError, match="altered"):
        store.load("shops", version=1)
    assert store.load("shops", version=2)["value"].tolist() == [100, 110]


def test_validation_names_fields_and_rows(tmp_path):
    store = SubmissionStore(tmp_path)
    bad = pd.DataFrame({
        "unique_id": ["a", "a", "a", "b", "b"],
        "date": ["2027-01-04", "not a date", "2027-01-18", "2027-01-04", "2027-01-04"],
        "quantity": ["5", "6", "-1", "3", "x"],
    })
    with pytest.raises(SubmissionError) as err:
        store.submit("shops", "ann", bad)
    text = str(err.value)
    assert "date: unparseable or missing date (rows 2)" in text
    assert "quantity: negative value (rows 3)" in text
    assert "quantity: not a number or missing (rows 5)" in text
    assert "unique_id + date: duplicate rows for the same series and date (rows 4, 5)" in text
    assert store.versions() == []  # nothing stored

    with pytest.raises(SubmissionError, match=r"value: column not found \(looked for value or p50 or quantity\)"):
        store.submit("shops", "ann", bad.drop(columns="quantity"))
    with pytest.raises(SubmissionError, match="author: required"):
        store.submit("shops", " ", _partner_table([1, 2]))
    with pytest.raises(SubmissionError, match="reserved"):
        store.submit("statistical", "ann", _partner_table([1, 2]))
    with pytest.raises(SubmissionError, match="partner: 'a/b' is not a valid id"):
        store.submit("a/b", "ann", _partner_table([1, 2]))
    store.submit("shops", "ann", _partner_table([1, 2]))
    with pytest.raises(SubmissionError, match="has no version 3"):
        store.load("shops", version=3)


def test_partner_export_read_through_a_column_mapping_and_bucketed(tmp_path):
    store = SubmissionStore(tmp_path)
    export = pd.DataFrame({
        "sku": ["widget"] * 3, "store": ["north"] * 3,
        "day": ["2027-01-05", "2027-01-07", "2027-01-12"],  # Tue and Thu of week 1, Tue of week 2
        "fcst": [10, 15, 7],
    })
    sub = store.submit("shops", "ann", export, columns={"ds": "day", "value": "fcst"}, keys=["sku", "store"], freq="W")
    assert (sub.rows_in, sub.rows, sub.keys) == (3, 2, ["sku", "store"])
    got = store.load("shops")
    assert got["unique_id"].tolist() == ["widget/north"] * 2
    assert got["ds"].tolist() == [W1, W2] and got["value"].tolist() == [25, 7]
    assert got["sku"].tolist() == ["widget"] * 2


def test_statistical_runs_are_versioned_and_give_the_p50_as_source(tmp_path):
    store = SubmissionStore(tmp_path)
    run = pd.DataFrame({"unique_id": "widget/north", "ds": [W1, W2], "p10": [80, 85], "p50": [100, 105], "p90": [130, 140], "method": "prophet"})
    assert store.save_statistical(run, "nightly").version == 1
    assert store.save_statistical(run.assign(p50=[101, 106]), "nightly").version == 2
    store.submit("shops", "ann", _partner_table([120, 110]))
    src = store.latest_sources()
    assert sorted(src["source"].unique()) == ["shops", "statistical"]
    assert src[src["source"] == "statistical"]["value"].tolist() == [101, 106]
    assert store.load_statistical(version=1)[["p10", "p50", "p90"]].values.tolist() == [[80, 100, 130], [85, 105, 140]]
    with pytest.raises(SubmissionError, match=r"p10/p50/p90: quantiles out of order .*\(rows 2\)"):
        store.save_statistical(run.assign(p10=[80, 120]), "nightly")


# ----------------------------------------------------------------------------- exceptions

RULES_YAML = """
name: widgets with the shops
rules:
  - {name: "20% apart", kind: tolerance, relative: 0.2}
  - {name: "WAPE 30%", kind: error, limit: 0.3, window: 4}
  - {name: "in-stock 90%", kind: service, measure: in_stock, target: 0.9, owner: maker}
"""


def test_exceptions_between_partners_and_statistical():
    rules = CollaborationRules.from_yaml(RULES_YAML)
    fc = pd.concat([
        # W1: shops 130 vs maker 100 (23%) and vs statistical 100 (23%); maker = statistical
        _src("widget/north", W1, statistical=100, shops=130, maker=100),
        # W2: all within 20%
        _src("widget/north", W2, statistical=100, shops=110, maker=95),
        # W3: maker 60 vs statistical 100 (40%) and vs shops 100 (40%)
        _src("widget/north", W3, statistical=100, shops=100, maker=60),
    ])
    exc = find_exceptions(rules, fc)
    pairs = {(row.ds, row.sources) for row in exc.itertuples()}
    assert pairs == {(W1, "maker vs shops"), (W1, "shops vs statistical"), (W3, "maker vs shops"), (W3, "maker vs statistical")}
    owners = dict(zip(exc["sources"] + "@" + exc["ds"].astype(str), exc["owner"]))
    assert owners["shops vs statistical@2027-01-04"] == "shops"  # the partner owns a disagreement with statistical
    assert exc["exception_id"].is_unique
    assert find_exceptions(rules, fc.iloc[::-1])["exception_id"].tolist() == exc["exception_id"].tolist()  # stable ids
    notes = exc.attrs["notes"]
    assert any("'WAPE 30%' skipped: no actuals" in n for n in notes)
    assert any("'in-stock 90%' skipped: no service data" in n for n in notes)


def test_error_and_service_rules_run_when_their_data_is_given():
    rules = CollaborationRules.from_yaml(RULES_YAML)
    hist_ds = pd.date_range("2026-12-07", periods=4, freq="W-MON")
    actuals = pd.DataFrame({"unique_id": "widget/north", "ds": hist_ds, "y": [100, 100, 100, 100]})
    past = pd.concat([
        pd.DataFrame({"unique_id": "widget/north", "ds": hist_ds, "source": "statistical", "value": [90, 110, 100, 100]}),
        pd.DataFrame({"unique_id": "widget/north", "ds": hist_ds, "source": "shops", "value": [150, 150, 140, 140]}),
    ])
    service = pd.DataFrame({"unique_id": "widget/north", "ds": hist_ds, "on_hand": [4, 0, 3, 2]})
    exc = find_exceptions(rules, _src("widget/north", W1, statistical=100, shops=105), actuals, service, past_forecasts=past)
    assert exc["rule"].tolist() == ["WAPE 30%", "in-stock 90%"]
    assert exc.iloc[0]["sources"] == "shops" and exc.iloc[0]["measure"] == pytest.approx(0.45)
    assert exc.iloc[1]["owner"] == "maker" and exc.iloc[1]["measure"] == pytest.approx(0.75)
    assert exc.attrs["notes"] == []


def test_rules_name_a_missing_source_and_bad_rules_are_explained():
    rules = CollaborationRules.from_dict([{"name": "shops vs dc", "kind": "tolerance", "absolute": 5, "sources": ["shops", "dc"]}])
    exc = find_exceptions(rules, _src("widget/north", W1, statistical=100, shops=130))
    assert exc.empty
    assert exc.attrs["notes"] == ["rule 'shops vs dc': no forecasts from dc", "rule 'shops vs dc' skipped: needs two sources, found shops"]
    with pytest.raises(RulesError) as err:
        CollaborationRules.from_dict({"rules": [{"name": "a", "relative": 0.2}, {"name": "b", "kind": "error", "limit": 0.3, "windw": 4}]})
    assert "rules[0] ('a'): kind is missing; one of tolerance, error, service" in str(err.value)
    assert "rules[1] ('b').windw: unknown field" in str(err.value)
    with pytest.raises(RulesError, match="repeated: a"):
        CollaborationRules.from_dict([{"name": "a", "kind": "error", "limit": 0.3}, {"name": "a", "kind": "tolerance", "absolute": 1}])
    with pytest.raises(ValueError, match="forecasts: missing column"):
        find_exceptions(rules, pd.DataFrame({"unique_id": ["x"], "ds": [W1], "value": [1]}))


# ----------------------------------------------------------------------------- consensus


def test_weights_are_inverse_wape_worked_by_hand():
    src = _src("widget/north", W1, statistical=100, shops=140)
    acc = pd.DataFrame({"unique_id": "widget/north", "source": ["statistical", "shops"], "wape": [0.1, 0.3]})
    result = build_consensus(src, acc)
    # 1/0.1 = 10 and 1/0.3 = 3.33 -> 0.75 and 0.25 -> 0.75*100 + 0.25*140 = 110
    w = result.weights.set_index("source")["weight"]
    assert w["statistical"] == pytest.approx(0.75) and w["shops"] == pytest.approx(0.25)
    assert result.table.iloc[0]["p50"] == pytest.approx(110)
    assert result.trace.iloc[0]["basis"] == "weighted"
    assert result.trace.iloc[0]["weights"] == "statistical=0.75, shops=0.25"


def test_zero_wape_is_floored_and_unknown_sources_weigh_as_the_average():
    src = _src("s", W1, statistical=100, shops=200, maker=300)
    acc = pd.DataFrame({"unique_id": "s", "source": ["statistical", "shops"], "wape": [0.0, 0.2]})
    w = inverse_wape_weights(src, acc, wape_floor=0.05).set_index("source")["weight"]
    # raw 1/0.05 = 20, 1/0.2 = 5, maker unknown -> mean 12.5; total 37.5
    assert w["statistical"] == pytest.approx(20 / 37.5)
    assert w["shops"] == pytest.approx(5 / 37.5)
    assert w["maker"] == pytest.approx(12.5 / 37.5)
    # no accuracy at all: equal weights; a source absent in a period takes no part in it
    src2 = pd.concat([src, _src("s", W2, statistical=90, shops=120)])
    res = build_consensus(src2, None)
    assert res.table["p50"].tolist() == pytest.approx([200, 105])


def test_backtest_accuracy_table_counts_for_the_statistical_source():
    src = _src("s", W1, statistical=100, shops=140)
    backtest = pd.DataFrame({
        "unique_id": "s", "model": ["prophet", "ets"], "mase": [0.9, 0.8], "wape": [0.5, 0.1], "bias": 0.0,
        "n_windows": 3, "selected": [False, True],
    })
    # statistical WAPE 0.1 (selected ets), shops unknown -> average weight -> equal -> 120
    assert build_consensus(src, backtest).table.iloc[0]["p50"] == pytest.approx(120)
    with pytest.raises(ValueError, match="accuracy: needs a source column"):
        build_consensus(src, pd.DataFrame({"unique_id": ["s"], "wape": [0.1]}))


def test_overrides_win_over_the_rule_and_are_traced(tmp_path):
    src = pd.concat([
        _src("widget/north", W1, statistical=100, shops=140),
        _src("widget/north", W2, statistical=100, shops=120),
        _src("widget/south", W1, statistical=50, shops=70),
    ])
    acc = pd.DataFrame({"source": ["statistical", "shops"], "wape": [0.1, 0.3]})  # per source, every series
    store = ResolutionStore(tmp_path)
    accept = store.add({"action": "accept_source", "source": "shops", "unique_id": "widget/north",
                        "author": "ann", "created_at": "2027-01-01T10:00", "exception_id": "EX-1"})
    adjust = store.add(Resolution(action="adjust", value=125, reason="store opening", unique_id="widget/north",
                                  ds=[W2.date()], author="bob", created_at="2027-01-02T10:00"))
    maxed = store.add({"action": "apply_rule", "rule": "max", "unique_id": "widget/south", "author": "cy"})
    assert [r.id for r in store.all()] == ["R0001", "R0002", "R0003"]
    with pytest.raises(ValueError, match="already exists"):
        store.add(accept)

    result = build_consensus(src, acc, store.all())
    trace = result.trace.set_index(["unique_id", "ds"])
    north1, north2, south = trace.loc[("widget/north", W1)], trace.loc[("widget/north", W2)], trace.loc[("widget/south", W1)]
    assert (north1["value"], north1["basis"], north1["author"], north1["resolution_id"], north1["exception_id"]) == (140, "accepted:shops", "ann", accept.id, "EX-1")
    assert north1["rule_value"] == pytest.approx(110)  # what the rule alone gave
    # the later adjustment wins for W2 over the series-wide acceptance
    assert (north2["value"], north2["basis"], north2["reason"], north2["resolution_id"]) == (125, "adjusted", "store opening", adjust.id)
    assert (south["value"], south["basis"], south["resolution_id"]) == (70, "max", maxed.id)
    assert result.table["p50"].tolist() == [140, 125, 70]


def test_resolutions_are_checked():
    with pytest.raises(ValueError, match="reason is required for adjust"):
        Resolution(action="adjust", value=10, unique_id="s", author="ann")
    with pytest.raises(ValueError, match="source is required for accept_source"):
        Resolution(action="accept_source", unique_id="s", author="ann")
    with pytest.raises(ValueError, match="value is only for adjust"):
        Resolution(action="apply_rule", rule="mean", value=3, unique_id="s", author="ann")
    with pytest.raises(ValueError, match="rule"):
        Resolution(action="apply_rule", rule="vote", unique_id="s", author="ann")


def test_quantiles_follow_the_consensus_p50():
    src = _src("s", W1, statistical=100, shops=140)
    acc = pd.DataFrame({"source": ["statistical", "shops"], "wape": [0.1, 0.3]})
    stat = pd.DataFrame({"unique_id": ["s"], "ds": [W1], "p10": [80.0], "p50": [100.0], "p90": [130.0]})
    row = build_consensus(src, acc, quantiles=stat).table.iloc[0]
    # consensus 110 = 1.1 x statistical P50 -> band scaled by 1.1
    assert (row["p10"], row["p50"], row["p90"]) == pytest.approx((88, 110, 143))
    zero = pd.DataFrame({"unique_id": ["s"], "ds": [W1], "p10": [0.0], "p50": [0.0], "p90": [4.0]})
    row = build_consensus(_src("s", W1, statistical=0, shops=6), None, quantiles=zero).table.iloc[0]
    assert (row["p10"], row["p50"], row["p90"]) == pytest.approx((3, 3, 7))  # shifted when P50_stat = 0


def test_statistical_rule_falls_back_where_there_is_no_statistical_forecast():
    src = pd.concat([_src("s", W1, statistical=100, shops=140), _src("s", W2, shops=120, maker=80)])
    res = build_consensus(src, None, rule="statistical")
    assert res.table["p50"].tolist() == [100, 100]
    assert res.trace["basis"].tolist() == ["statistical", "weighted"]
    assert "no statistical forecast here" in res.trace.iloc[1]["note"]


# ----------------------------------------------------------------------------- FVA


def _history_case():
    ds = pd.to_datetime(["2026-11-02", "2026-11-09"])
    actuals = pd.DataFrame({"unique_id": ["A", "A", "B", "B"], "ds": [*ds, *ds], "y": [100, 100, 50, 50]})
    rows = [
        ("A", ds[0], "statistical", 80), ("A", ds[1], "statistical", 120),  # |err| 40
        ("B", ds[0], "statistical", 50), ("B", ds[1], "statistical", 50),   # |err| 0
        ("A", ds[0], "shops", 95), ("A", ds[1], "shops", 105),              # |err| 10
        ("B", ds[0], "shops", 60), ("B", ds[1], "shops", 40),               # |err| 20
        ("A", ds[0], "maker", 70), ("A", ds[1], "maker", 140),              # |err| 70
    ]
    return actuals, pd.DataFrame(rows, columns=["unique_id", "ds", "source", "value"])


def test_fva_sign_by_hand():
    actuals, past = _history_case()
    fva = forecast_value_added(actuals, past)
    shops = fva.by_partner.set_index("partner").loc["shops"]
    # pooled: statistical 40/300, shops 30/300 -> FVA +1/30; MAE 10 vs 7.5 -> +2.5
    assert shops["fva_wape"] == pytest.approx(40 / 300 - 30 / 300)
    assert shops["fva_mae"] == pytest.approx(2.5)
    assert shops["share_improved"] == pytest.approx(0.5)  # better on A, worse on B
    maker = fva.by_partner.set_index("partner").loc["maker"]
    # maker only on A: statistical 40/200, maker 70/200 -> FVA -0.15
    assert maker["fva_wape"] == pytest.approx(-0.15) and maker["share_improved"] == 0
    per = fva.by_series.set_index(["partner", "unique_id"])
    assert per.loc[("shops", "A"), "fva_wape"] == pytest.approx(0.15) and per.loc[("shops", "A"), "improved"]
    assert per.loc[("shops", "B"), "fva_wape"] == pytest.approx(-0.2) and not per.loc[("shops", "B"), "improved"]


def test_source_accuracy_by_hand():
    actuals, past = _history_case()
    acc = source_accuracy(actuals, past).set_index(["unique_id", "source"])
    row = acc.loc[("B", "shops")]
    assert (row["wape"], row["mae"], row["bias"], row["n"]) == pytest.approx((0.2, 10, 0, 2))
    assert acc.loc[("A", "maker"), "bias"] == pytest.approx(10 / 200)  # 70 + 140 - 200 over 200


def test_fva_from_stored_versions_ignores_revisions_made_after_the_fact(tmp_path):
    actuals, past = _history_case()
    store = SubmissionStore(tmp_path)
    for source, g in past.groupby("source"):
        table = g.drop(columns="source")
        if source == "statistical":
            store.save_statistical(table.rename(columns={"value": "p50"}), "nightly", submitted_at="2026-10-26")
        else:
            store.submit(source, "ann", table, submitted_at="2026-10-26")
    # shops "revise" to the actuals after the periods happened: not a forecast, left out
    store.submit("shops", "ann", actuals.rename(columns={"y": "value"}), submitted_at="2026-11-20")
    fva = forecast_value_added(actuals, store.all_versions())
    assert fva.by_partner.set_index("partner").loc["shops", "fva_wape"] == pytest.approx(1 / 30)
    assert any("submitted at or after" in n for n in fva.notes)
    # the accuracy feeds the consensus weights
    acc = source_accuracy(actuals, store.all_versions())
    res = build_consensus(_src("A", W1, statistical=100, shops=140), acc)
    # A: statistical WAPE 0.2 (raw 5), shops 0.05 (raw 20) -> 0.2*100 + 0.8*140 = 132
    assert res.table.iloc[0]["p50"] == pytest.approx(132)


def test_concurrent_submissions_get_distinct_versions(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    def send(i):
        return SubmissionStore(tmp_path).submit("shops", f"user{i}", _partner_table([i, i + 1])).version

    with ThreadPoolExecutor(4) as pool:
        got = sorted(pool.map(send, range(8)))
    assert got == list(range(1, 9))
    store = SubmissionStore(tmp_path)
    assert [s.version for s in store.versions("shops")] == got
    assert all(store.load("shops", v)["value"].iloc[0] + 1 == store.load("shops", v)["value"].iloc[1] for v in got)
