"""Write src/lib/fixtures/small_chain_plan.json: the bundled small_chain solved by the planning
engine (`jointplan plan small_chain --out`), with its KPIs, binding limits and the tables the
charts use. The chart transforms' unit tests check their sums against the engine's own KPIs.

    (from web/)  PYTHONPATH=.. ../.venv/bin/python scripts/plan_fixture.py
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "src" / "lib" / "fixtures" / "small_chain_plan.json"
TABLES = ("production", "capacity", "inventory", "sales", "cash")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "plan.json"
        subprocess.run([sys.executable, "-m", "jointplan", "plan", "small_chain", "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        full = json.loads(out.read_text())
    keep = {k: full[k] for k in ("status", "objective", "kpis", "binding_limits", "diagnosis")}
    keep["tables"] = {t: full["tables"][t] for t in TABLES}
    OUT.write_text(json.dumps(keep, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
