"""The funding inputs' published schemas (`jointplan schema instruments|cashflows`), the bundled
funding example the README and docs name, and the README's `jointplan fund` command on it."""

from __future__ import annotations

import json
import re
import shlex
import typing
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from finance.cashflows import FLOW_COLUMNS, REQUIRED_FLOW_COLUMNS, make_cashflow_table, read_cashflows_csv
from jointplan.cli import app
from scenarios.finance import FinanceError, FinanceSpec, Instrument, load_finance_spec
from scenarios.io import EXAMPLES_DIR, list_example_files, list_examples, load_scenario

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CASH = EXAMPLES_DIR / "small_chain_maker_cash.csv"
runner = CliRunner()


def schema_of(*what: str) -> dict:
    result = runner.invoke(app, ["schema", *what])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_schema_without_an_argument_is_still_the_scenario_schema():
    assert schema_of()["title"] == "jointplan scenario" == schema_of("scenario")["title"]
    result = runner.invoke(app, ["schema", "plan"])
    assert result.exit_code == 2 and "instruments" in result.output


def test_instruments_schema_is_generated_from_the_finance_model():
    schema = schema_of("instruments")
    model = FinanceSpec.model_json_schema()
    assert schema["properties"] == model["properties"] and schema["$defs"] == model["$defs"]
    # every instrument kind of the model is in it (a new kind appears without touching the command)
    kinds = {typing.get_args(m.model_fields["type"].annotation)[0] for m in typing.get_args(typing.get_args(Instrument)[0])}
    mapping = schema["$defs"]["PartnerFinance"]["properties"]["instruments"]["items"]["discriminator"]["mapping"]
    assert kinds and set(mapping) == kinds


def test_cashflows_schema_is_the_table_the_reader_checks():
    schema = schema_of("cashflows")
    assert schema["required"] == list(REQUIRED_FLOW_COLUMNS) == ["partner", "period", "operating_cash_flow"]
    assert list(schema["properties"]) == [c.name for c in FLOW_COLUMNS]
    assert all(p["description"] for p in schema["properties"].values())
    base = pd.read_csv(CASH)
    assert set(base.columns) <= set(schema["properties"])
    for name in schema["required"]:  # each required column: refused without it, named
        with pytest.raises(FinanceError, match=f"missing column.*{name}"):
            make_cashflow_table(base.drop(columns=name))
    for name, prop in schema["properties"].items():
        if prop["type"] == "number" and prop.get("minimum") == 0:  # non-negative: a negative value is refused
            bad = base.assign(**{name: -1.0})
            with pytest.raises(FinanceError) as exc:
                make_cashflow_table(bad)
            assert [p.path for p in exc.value.problems] == [f"cashflows.{name}"], name
        elif prop["type"] == "number":  # any sign
            assert make_cashflow_table(base.assign(**{name: -1.0})).flows[name].eq(-1.0).all(), name
        for alias in prop.get("x-aliases", []):  # an alias header is read as the column
            if name in base:
                table = make_cashflow_table(base.rename(columns={name: alias.upper()}))
                assert table.flows[name].tolist() == base[name].tolist(), alias


def _example_names(text: str) -> set[str]:
    """Bundled example files a text names: scenarios/examples/NAME, or $E/NAME after E=scenarios/examples."""
    names = set(re.findall(r"scenarios/examples/([\w.-]+\.(?:yaml|csv))", text))
    if re.search(r"^E=scenarios/examples\b", text, re.M):
        names |= set(re.findall(r"\$E/([\w.-]+\.(?:yaml|csv))", text))
    return names


def test_every_example_file_the_docs_name_exists_and_is_valid():
    named = set().union(*(_example_names(p.read_text()) for p in DOCS))
    assert {"small_chain_maker_cash.csv", "small_chain_maker_lines.yaml"} <= named
    kinds = dict(list_example_files())
    for name in sorted(named):
        path = EXAMPLES_DIR / name
        assert path.is_file(), f"{name} is named in the docs but not bundled"
        if path.stem in list_examples():
            load_scenario(str(path))
        elif kinds[name].startswith("funding instruments"):
            assert load_finance_spec(path).partners
        elif kinds[name].startswith("cash-flow CSV"):
            assert read_cashflows_csv(path).T > 0
    # `jointplan examples` still lists scenarios only, and the funding files apart as what they are
    assert "small_chain_maker_lines" not in list_examples()
    assert kinds["small_chain_maker_cash.csv"] == "cash-flow CSV (for `jointplan fund`)"
    assert kinds["small_chain_maker_lines.yaml"] == "funding instruments (for `jointplan fund --instruments`)"


def test_the_readme_fund_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, re.S) if "--instruments" in b)
    env = dict(re.findall(r"^(\w+)=(\S+)", block, re.M))
    line = next(ln for ln in block.splitlines() if ln.startswith("jointplan fund") and "--instruments" in ln)
    args = shlex.split(re.sub(r"\$(\w+)", lambda m: env[m.group(1)], line.split("#")[0]))[1:]
    out = tmp_path / "funding.json"
    args[args.index("--out") + 1] = str(out)
    monkeypatch.chdir(ROOT)
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    funding = json.loads(out.read_text())
    assert funding["status"] == "optimal" and funding["kpis"]["total"]["financing_cost"] > 0
    assert not funding["warnings"]
