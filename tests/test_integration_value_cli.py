"""`jointplan value-of-integration`: the table on the terminal, CSV/JSON, the workbook sheet with
its chart, the SVG chart; bad grid input exits 2 naming the option. The figures are the
two-period case worked by hand in tests/test_integration_value.py.

Broken on purpose (2026-12-03), reverted: the workbook's "Joint - sequential" column reading the
sequential profit (test_study_writes_table_workbook_and_chart fails); a grid value that is not
a number read as 0.5 (test_bad_grid_input_exits_2_naming_the_option[--demand scenario] fails).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import openpyxl
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from jointplan.cli import app
from test_integration_value import two_period

runner = CliRunner()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("voi") / "two.yaml"
    path.write_text(yaml.safe_dump(two_period()), encoding="utf-8")
    return path


@pytest.mark.slow
def test_study_writes_table_workbook_and_chart(scenario_file, tmp_path):
    """Two points at R = 3.6 a year, k = 2: s = 0.5 (plan-then-fund not funded; joint 100) and
    s = 1 (plan-then-fund -50, joint 100, gain 150)."""
    csv, js, xlsx, svg = (tmp_path / n for n in ("t.csv", "t.json", "t.xlsx", "img/t.svg"))
    args = ["value-of-integration", str(scenario_file), "--limit-share", "0.5,1", "--rate", "3.6", "--demand", "2"]
    res = runner.invoke(app, args + ["--out", str(csv), "--workbook", str(xlsx), "--chart", str(svg)])
    assert res.exit_code == 0, res.output
    assert "not funded" in res.output and "hold at every point" in res.output
    t = pd.read_csv(csv)
    assert list(t["limit_share"]) == [0.5, 1.0]
    assert list(t["sequential_funded"]) == [False, True]
    assert t["joint_chain_profit"].tolist() == pytest.approx([100, 100], abs=1e-6)
    assert t["sequential_chain_profit"].iloc[1] == pytest.approx(-50, abs=1e-6)
    assert t["gain"].iloc[1] == pytest.approx(150, abs=1e-6) and pd.isna(t["gain"].iloc[0])
    ws = openpyxl.load_workbook(xlsx)["Value of integration"]
    header = next(r for r in ws.iter_rows(values_only=True) if r[0] == "Demand scale")
    body = [r for r in ws.iter_rows(values_only=True) if r[0] == 2 and r[3] is not None]
    assert len(body) == 2 and body[1][header.index("Joint - sequential (EUR)")] == pytest.approx(150, abs=1e-6)
    assert body[0][header.index("Sequential funded")] == "no"
    assert len(ws._charts) == 1
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg") and len(root.findall("{http://www.w3.org/2000/svg}polyline")) >= 2
    res = runner.invoke(app, args + ["--out", str(js)])
    assert res.exit_code == 0, res.output
    payload = json.loads(js.read_text())
    assert payload["summary"]["joint_strictly_better"] == 1 and payload["summary"]["sequential_not_funded"] == 1


def test_one_point_as_json_and_chart(scenario_file, tmp_path):
    """k = 1, R = 3.6 a year, s = 1: plan-then-fund 50, joint 100."""
    js, svg = tmp_path / "t.json", tmp_path / "t.svg"
    res = runner.invoke(app, ["value-of-integration", str(scenario_file), "--limit-share", "1", "--rate", "3.6",
                              "--out", str(js), "--chart", str(svg)])
    assert res.exit_code == 0, res.output
    (row,) = json.loads(js.read_text())["rows"]
    assert row["sequential_chain_profit"] == pytest.approx(50, abs=1e-6)
    assert row["joint_chain_profit"] == pytest.approx(100, abs=1e-6) and row["gain"] == pytest.approx(50, abs=1e-6)
    assert ET.parse(svg).getroot().tag.endswith("svg")


@pytest.mark.parametrize("args, option", [
    (["--limit-share", "0.5,abc"], "--limit-share"),
    (["--limit-share", "-1"], "--limit-share"),
    (["--rate", "nan"], "--rate"),
    (["--buyer-terms", "1.5"], "--buyer-terms"),
    (["--demand", "0"], "--demand"),
    (["--demand", "scenario"], "--demand"),
    (["--buyer", "nobody"], "--buyer"),
    (["--out", "t.txt"], "--out"),
    (["--chart", "t.png"], "--chart"),
])
def test_bad_grid_input_exits_2_naming_the_option(scenario_file, args, option):
    res = runner.invoke(app, ["value-of-integration", str(scenario_file), *args])
    assert res.exit_code == 2, res.output
    assert option in res.output and "Traceback" not in res.output
