"""What the CPFR workflow (:mod:`forecasting.workflow`) reads and writes, as one interface.

:class:`CPFRStore` is that interface: the partners' submissions as versions, the statistical
forecast runs (forecasts and backtest accuracy), the resolutions and the series' key columns.
Two stores implement it:

- :class:`FileStore` (here): a directory, as ``jointplan`` keeps it (``--store``): the versions
  of :class:`~forecasting.submissions.SubmissionStore`, the resolutions of
  :class:`~forecasting.consensus.ResolutionStore` and the latest run's backtest table
  ``statistical_accuracy.csv``, all under one root.
- ``api.store.DatabaseStore``: the service's database (one collaboration per database).

The sales history is not part of the store: the workflow takes the actuals as an argument
(:func:`forecasting.workflow.actuals`), read from a file by the command line and from the
uploads by the service.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pandas as pd

from .consensus import Resolution, ResolutionStore
from .submissions import STATISTICAL, Submission, SubmissionStore, locked, write_atomic

ACCURACY_FILE = "statistical_accuracy.csv"


@dataclass
class LatestForecasts:
    """Each source's latest forecast, long ``unique_id, ds, source, value`` (``table``), with the
    partners' submission versions used (``versions``: partner -> version) and the statistical
    run used (``statistical``: its version in the store, or None)."""

    table: pd.DataFrame
    versions: dict[str, int] = field(default_factory=dict)
    statistical: int | None = None


class StoredVersion(Protocol):
    """A stored submission or statistical run: at least its version number."""

    @property
    def version(self) -> int: ...


class CPFRStore(Protocol):
    """The reads and writes of the CPFR workflow (module doc)."""

    def latest_forecasts(self) -> LatestForecasts:
        """Each partner's latest submission and the latest statistical run (source ``statistical``)."""
        ...

    def all_versions(self) -> pd.DataFrame:
        """Every version of every source: ``unique_id, ds, source, version, submitted_at, value``."""
        ...

    def statistical_forecast(self) -> pd.DataFrame | None:
        """The latest statistical run's forecasts (``unique_id, ds, p10, p50, p90`` ...); None: no run."""
        ...

    def statistical_accuracy(self) -> pd.DataFrame | None:
        """The latest statistical run's backtest table (``unique_id, model, wape, selected`` ...); None: none."""
        ...

    def resolutions(self) -> list[Resolution]:
        """Every resolution, in the order recorded."""
        ...

    def key_columns(self) -> list[str] | None:
        """Names of the key columns joined into ``unique_id`` (:mod:`forecasting.keys`); None: unknown."""
        ...

    def add_submission(self, partner: str, data: pd.DataFrame, rows_in: int, *, author: str, note: str = "",
                       submitted_at: datetime | str | None = None) -> StoredVersion:
        """Keep a checked forecast table (:func:`~forecasting.submissions.normalise_forecast_table`)
        as the partner's next version."""
        ...

    def add_statistical_run(self, forecasts: pd.DataFrame, accuracy: pd.DataFrame | None, *, author: str,
                            submitted_at: datetime | str | None = None) -> StoredVersion:
        """Keep a statistical forecast run (forecasts with P10/P50/P90, backtest table) as the latest."""
        ...

    def add_resolution(self, resolution: Resolution) -> Resolution:
        """Record a resolution; returns it with its id."""
        ...


class FileStore:
    """:class:`CPFRStore` over a directory (module doc); ``submissions`` and ``resolution_log``
    are the two stores it combines."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.submissions = SubmissionStore(self.root)
        self.resolution_log = ResolutionStore(self.root)

    def latest_forecasts(self) -> LatestForecasts:
        latest = {s.partner: s.version for s in self.submissions.versions()}  # ordered by version: the last wins
        stat = latest.pop(STATISTICAL, None)
        return LatestForecasts(self.submissions.latest_sources(), latest, stat)

    def all_versions(self) -> pd.DataFrame:
        return self.submissions.all_versions()

    def statistical_forecast(self) -> pd.DataFrame | None:
        return self.submissions.load_statistical() if self.submissions.versions(STATISTICAL) else None

    def statistical_accuracy(self) -> pd.DataFrame | None:
        path = self.root / ACCURACY_FILE
        if not path.exists():
            return None
        return pd.read_csv(path, dtype={"unique_id": str})

    def resolutions(self) -> list[Resolution]:
        return self.resolution_log.all()

    def key_columns(self) -> list[str] | None:
        """The key names stored with the versions (the last source's, by name, that has any)."""
        return next((v.keys for v in reversed(self.submissions.versions()) if v.keys), None)

    def add_submission(self, partner: str, data: pd.DataFrame, rows_in: int, *, author: str, note: str = "",
                       submitted_at: datetime | str | None = None) -> Submission:
        return self.submissions.add_submission(partner, data, rows_in, author=author, note=note,
                                               submitted_at=submitted_at)

    def add_statistical_run(self, forecasts: pd.DataFrame, accuracy: pd.DataFrame | None, *, author: str,
                            submitted_at: datetime | str | None = None) -> Submission:
        """The forecasts as the next ``statistical`` version; the backtest table (the consensus
        weights read the selected models' WAPE from it) replaces ``statistical_accuracy.csv``."""
        saved = self.submissions.save_statistical(forecasts, author, submitted_at=submitted_at)
        table = accuracy if accuracy is not None else pd.DataFrame(columns=["unique_id", "model", "wape", "selected"])
        buffer = io.StringIO()
        table.to_csv(buffer, index=False)
        with locked(self.root):
            write_atomic(self.root / ACCURACY_FILE, buffer.getvalue().encode("utf-8"))
        return saved

    def add_resolution(self, resolution: Resolution) -> Resolution:
        return self.resolution_log.add(resolution)
