"""Start-up time of the ``jointplan`` commands, and which heavy modules each one imports.

Each command runs in a fresh interpreter (``python -m jointplan ...``), a few times; printed: the
median wall time and CPU time (user + system, of the child), and the heavy modules it imported
(checked in a separate run that lists ``sys.modules`` when the command ends). ``--importtime``
also prints the slowest imports of ``jointplan --help`` (``python -X importtime``).

    python benchmarks/startup.py                 # 5 runs each
    python benchmarks/startup.py --repeat 9 --importtime

Target (issue 16): ``jointplan --help`` under 0.5 s on 2 cores, importing none of Pyomo, pandas,
SciPy; ``jointplan plan`` importing none of Prophet, statsforecast, Dask, FastAPI, SQLAlchemy nor
scipy.stats.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pyomo", "pandas", "numpy", "scipy", "scipy.sparse", "scipy.stats", "highspy", "pydantic", "yaml",
         "openpyxl", "prophet", "statsforecast", "statsmodels", "dask", "distributed", "fastapi", "sqlalchemy")
COMMANDS = [
    ["--help"],
    ["plan", "--help"],
    ["examples"],
    ["validate", "small_chain"],
    ["plan", "small_chain"],
]
# `plan small_chain` also solves: its start-up alone is the import of what it needs
IMPORT_ONLY = {"plan (imports)": "import jointplan.cli, scenarios.io, planning.plan"}

WRAPPER = """
import json, sys
out, args = sys.argv[1], sys.argv[2:]
sys.argv = ["jointplan", *args]
try:
    from jointplan.cli import main
    main()
except SystemExit:
    pass
finally:
    heavy = {heavy!r}
    json.dump(sorted(m for m in heavy if m in sys.modules), open(out, "w"))
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("COLUMNS", "100")
    return env


def timed(argv: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``argv`` in a child process."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=tempfile.gettempdir(),
                       check=False)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def heavy_modules(args: list[str]) -> list[str]:
    """The heavy modules loaded once the command ``jointplan ARGS`` has run."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "modules.json"
        subprocess.run([sys.executable, "-c", WRAPPER.format(heavy=HEAVY), str(out), *args],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(), cwd=tmp, check=False)
        return json.loads(out.read_text()) if out.exists() else ["?"]


def import_times(args: list[str], top: int = 12) -> list[tuple[float, str]]:
    """The slowest cumulative imports (python -X importtime) of ``jointplan ARGS``."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "jointplan", *args], capture_output=True, text=True,
                          env=_env(), cwd=tempfile.gettempdir(), check=False)
    rows = []
    for line in proc.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]) / 1e6, parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per command (the median is printed)")
    parser.add_argument("--importtime", action="store_true", help="also the slowest imports of `jointplan --help`")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"# {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
          f"median of {args.repeat} runs; python {sys.version.split()[0]}")
    baseline = timed([sys.executable, "-c", "pass"], args.repeat)
    print(f"{'command':<32} {'wall s':>7} {'CPU s':>7}  heavy modules imported")
    print(f"{'(python -c pass)':<32} {baseline[0]:>7.2f} {baseline[1]:>7.2f}")
    rows = []
    for cmd in COMMANDS:
        wall, cpu = timed([sys.executable, "-m", "jointplan", *cmd], args.repeat)
        mods = heavy_modules(cmd)
        rows.append({"command": "jointplan " + " ".join(cmd), "wall_s": wall, "cpu_s": cpu, "heavy_modules": mods})
        print(f"{'jointplan ' + ' '.join(cmd):<32} {wall:>7.2f} {cpu:>7.2f}  {', '.join(mods) or '-'}")
    for label, code in IMPORT_ONLY.items():
        wall, cpu = timed([sys.executable, "-c", code], args.repeat)
        rows.append({"command": label, "wall_s": wall, "cpu_s": cpu})
        print(f"{label:<32} {wall:>7.2f} {cpu:>7.2f}  ({code})")
    helpw = rows[0]["wall_s"]
    print(f"jointplan --help: {helpw:.2f} s wall (target < 0.5 s), {rows[0]['cpu_s']:.2f} s CPU")
    if args.importtime:
        print("slowest imports of `jointplan --help` (cumulative s):")
        for secs, name in import_times(["--help"]):
            print(f"  {secs:7.3f}  {name}")
    if args.json:
        args.json.write_text(json.dumps({"load": load, "cores": os.cpu_count(), "python_bare": baseline,
                                         "commands": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
