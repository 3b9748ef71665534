"""Make the small_chain example's shared data (synthetic, seeded, for the demo only).

- ``small_chain_history.csv``: monthly point-of-sale units per store and product, shared by the
  retailer (Corner Shops), Jan 2022 - Dec 2026. The seasonal shape is the scenario's 2027
  demand profile (peak in Q4); the level grows 6 % a year; noise is multiplicative, 7 % s.d.
- ``small_chain_submissions_shops.csv`` / ``..._wholesale.csv``: each partner's own forecasts,
  in two rounds: the round submitted in December 2025 for 2026 (scored against the history for
  forecast value added) and the round submitted in December 2026 for 2027 (the plan's horizon).
  The retailer knows its stores (small errors, a planned Q4 promotion at store-north raises its
  widget forecast); the wholesaler forecasts from its order book and runs 12-18 % high.

Run ``python scenarios/examples/generate_small_chain_data.py`` to recreate the files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

HERE = Path(__file__).parent
GROWTH = 0.06
NOISE = 0.07


def main() -> None:
    rng = np.random.default_rng(20261128)
    scenario = yaml.safe_load((HERE / "small_chain.yaml").read_text())
    history, shops, wholesale = [], [], []
    for d in scenario["demand"]:
        profile = np.asarray(d["quantity"], dtype=float)  # 2027 expected units by month
        for year in range(2022, 2028):
            mean = profile / (1 + GROWTH) ** (2027 - year)
            dates = pd.date_range(f"{year}-01-01", periods=12, freq="MS")
            if year <= 2026:
                actual = np.round(mean * rng.lognormal(0.0, NOISE, 12))
                history += [
                    {"product": d["product"], "site": d["site"], "date": t.date(), "quantity": int(q)}
                    for t, q in zip(dates, actual)
                ]
            if year in (2026, 2027):
                submitted = f"{year - 1}-12-15"
                own = mean * rng.lognormal(0.0, 0.05, 12)
                if year == 2027 and d["site"] == "store-north" and d["product"] == "widget":
                    own[9:] *= 1.25  # promotion planned for Q4 2027
                shops += [
                    {"round": submitted, "product": d["product"], "site": d["site"], "date": t.date(), "value": round(v)}
                    for t, v in zip(dates, own)
                ]
                high = mean * rng.uniform(1.12, 1.18) * rng.lognormal(0.0, 0.06, 12)
                wholesale += [
                    {"round": submitted, "product": d["product"], "site": d["site"], "date": t.date(), "value": round(v)}
                    for t, v in zip(dates, high)
                ]
    pd.DataFrame(history).to_csv(HERE / "small_chain_history.csv", index=False)
    pd.DataFrame(shops).to_csv(HERE / "small_chain_submissions_shops.csv", index=False)
    pd.DataFrame(wholesale).to_csv(HERE / "small_chain_submissions_wholesale.csv", index=False)


if __name__ == "__main__":
    main()
