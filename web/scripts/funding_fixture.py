"""Write src/lib/fixtures/small_chain_funding.json: the funding of the bundled small_chain's plan
per partner, as the plan job runner stores it and GET /plans/{id}/funding returns it (the
manufacturer, which draws on its instruments, and the retailer, which has none). The funding
transforms' unit tests check their figures against the KPIs the sizing computed.

    (from web/)  PYTHONPATH=.. ../.venv/bin/python scripts/funding_fixture.py
"""

import json
from pathlib import Path

import yaml

from api.jobs.runners import execute_plan
from scenarios.io import EXAMPLES_DIR

OUT = Path(__file__).resolve().parent.parent / "src" / "lib" / "fixtures" / "small_chain_funding.json"


def main() -> None:
    content = json.loads(json.dumps(yaml.safe_load((EXAMPLES_DIR / "small_chain.yaml").read_text()), default=str))
    result = execute_plan({"scenario": content, "options": {}, "time_limit": 120}, lambda *_: None)
    funding = result["funding"]
    keep = {"summary": result["plan"]["funding_summary"], "partners": [funding[p] for p in ("maker", "shops")]}
    OUT.write_text(json.dumps(keep, indent=1, default=str) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
