"""Write the service's OpenAPI schema for the web client (run by ``npm run generate-client``).

The schema is made by the app factory itself (``api.app.create_app``) on an in-memory database,
so no server needs to run. Operation ids become the route functions' names (``list_scenarios``
rather than FastAPI's ``list_scenarios_scenarios_get``), which the generated SDK turns into
``listScenarios``; a name used by two routes is prefixed with its tag.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

from api.app import create_app
from api.settings import Settings


def main(out: Path) -> None:
    app = create_app(Settings(database_url="sqlite://"))
    schema = app.openapi()
    operations = [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()
                  if isinstance(op, dict) and "operationId" in op]
    # FastAPI's default id is the function name + the path (non-word characters as _) + the method
    def function_name(path: str, method: str, op: dict) -> str:
        suffix = "_" + re.sub(r"\W", "_", path).lstrip("_") + "_" + method
        oid = op["operationId"]
        return oid[: -len(suffix)] if oid.endswith(suffix) and len(oid) > len(suffix) else oid

    counts = Counter(function_name(*o) for o in operations)
    seen = set()
    for path, method, op in operations:
        name = function_name(path, method, op)
        if counts[name] > 1:
            name = f"{(op.get('tags') or ['api'])[0]}_{name}".replace("-", "_")
        if name in seen:
            raise SystemExit(f"operation id {name} used twice")
        seen.add(name)
        op["operationId"] = name
    out.write_text(json.dumps(schema, indent=2, sort_keys=False) + "\n")
    print(f"wrote {out} ({len(schema['paths'])} paths, {len(seen)} operations)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
