"""Partners' forecast submissions and statistical forecast runs, kept as immutable versions.

Each partner submits its own forecast for the same series (``unique_id``) and periods (``ds``).
A submission is checked (columns, dates, values, duplicates), normalised to ``unique_id, ds,
value`` (+ key columns) and stored as a new version: version numbers count up per partner from
1, and each version records its author, UTC time, row count and the SHA-256 of its data file.
Old versions are never rewritten; loading one checks its hash. A statistical forecast run is
stored the same way under the reserved source name ``statistical`` (with P10/P50/P90, value =
P50).

Storage is files for now, behind :class:`SubmissionStore` (a database replaces it later)::

    root/manifest.json                    every version's metadata (JSON)
    root/data/<partner>/v0001.csv         one data file per version, never rewritten

Writers take an exclusive lock on ``root/.lock``; the manifest is replaced atomically.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import re
import tempfile
import warnings
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .history import HistoryProblem, bucket_start, read_table
from .keys import join_keys, series_id

STATISTICAL = "statistical"
SOURCE_COLUMNS = ["unique_id", "ds", "source", "value"]
VERSION_COLUMNS = ["unique_id", "ds", "source", "version", "submitted_at", "value"]
_ID_CANDIDATES = ("unique_id",)
_DS_CANDIDATES = ("ds", "date")
_VALUE_CANDIDATES = ("value", "p50", "quantity")
_NOT_KEYS = {"unique_id", "ds", "date", "value", "p10", "p50", "p90", "quantity", "method", "series_class"}
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,63}$")


class SubmissionError(ValueError):
    """A submission or store request that cannot be accepted; lists every problem found."""

    def __init__(self, problems: list[HistoryProblem], what: str = "invalid submission"):
        self.problems = problems
        super().__init__(f"{what}:\n" + "\n".join(f"  {p}" for p in problems))


class Submission(BaseModel):
    """Metadata of one stored version (a partner's submission or a statistical run)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    partner: str = Field(description="Source id: the partner, or 'statistical' for a statistical run")
    version: int = Field(ge=1, description="Version number, counting up from 1 per partner")
    kind: Literal["partner", "statistical"] = Field(description="Partner submission or statistical run")
    author: str = Field(description="Who submitted it")
    submitted_at: datetime = Field(description="When it was submitted [UTC]")
    rows: int = Field(ge=0, description="Series-periods stored [rows]")
    rows_in: int = Field(ge=0, description="Rows in the submitted table, before bucketing [rows]")
    keys: list[str] = Field(default_factory=list, description="Key columns kept beside unique_id")
    content_hash: str = Field(description="SHA-256 of the stored data file (hex)")
    file: str = Field(description="Data file, relative to the store root")
    note: str = Field("", description="Free text from the submitter")


# ----------------------------------------------------------------------------- validation


def _pick(df: pd.DataFrame, target: str, columns: Mapping[str, str], candidates: tuple[str, ...]) -> str | None:
    if target in columns:
        return columns[target] if columns[target] in df.columns else None
    return next((c for c in candidates if c in df.columns), None)


def normalise_forecast_table(
    table: pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    keys: list[str] | None = None,
    date_format: str | None = None,
    freq: Literal["W", "M"] | None = None,
    quantiles: bool = False,
) -> tuple[pd.DataFrame, int]:
    """Check a forecast table and return it as ``unique_id, ds, value`` (+ ``keys``; + ``p10,
    p50, p90, method`` when ``quantiles``), with the number of input rows.

    ``columns`` maps ``unique_id``/``ds``/``value`` to the table's own column names; without it
    ``ds`` is read from ``ds`` or ``date`` and ``value`` from ``value``, ``p50`` or ``quantity``.
    Without a ``unique_id`` column the key columns (``keys``, or every column that is not a date,
    value, quantile or method) are joined by ``/``. With ``freq`` the dates are moved to their
    bucket start (weekly: Monday, monthly: the 1st) and values in the same bucket summed.
    Problems name the field and the 1-based data rows; all are raised at once.
    """
    columns = dict(columns or {})
    unknown = set(columns) - {"unique_id", "ds", "value"}
    if unknown:
        raise SubmissionError([HistoryProblem("columns", f"unknown target(s) {sorted(unknown)}; use unique_id, ds, value")])
    if freq not in (None, "W", "M"):
        raise SubmissionError([HistoryProblem("freq", f"must be W, M or None, got {freq!r}")])
    df = table.copy()
    have = ", ".join(map(str, df.columns))
    problems: list[HistoryProblem] = []
    if df.empty:
        raise SubmissionError([HistoryProblem("(table)", "no rows")])

    ds_col = _pick(df, "ds", columns, _DS_CANDIDATES)
    value_col = _pick(df, "value", columns, ("p50",) if quantiles else _VALUE_CANDIDATES)
    id_col = _pick(df, "unique_id", columns, _ID_CANDIDATES)
    for target, col, looked in (
        ("ds", ds_col, columns.get("ds") or " or ".join(_DS_CANDIDATES)),
        ("value", value_col, columns.get("value") or ("p50" if quantiles else " or ".join(_VALUE_CANDIDATES))),
    ):
        if col is None:
            problems.append(HistoryProblem(target, f"column not found (looked for {looked}); the table has {have}"))
    if "unique_id" in columns and id_col is None:
        problems.append(HistoryProblem("unique_id", f"column {columns['unique_id']!r} not found; the table has {have}"))
    if keys is not None:
        problems += [HistoryProblem(k, f"key column not found; the table has {have}") for k in keys if k not in df.columns]
    if problems:
        raise SubmissionError(problems)
    if keys is None:
        if id_col is not None:
            keys = []
        else:
            used = {ds_col, value_col}
            keys = [c for c in df.columns if c not in used and str(c).lower() not in _NOT_KEYS]
    if id_col is None and not keys:
        raise SubmissionError([HistoryProblem("unique_id", f"no unique_id column and no key columns; the table has {have}")])

    rowno = np.arange(1, len(df) + 1)
    out = pd.DataFrame(index=df.index)
    if id_col is not None:
        out["unique_id"] = df[id_col].astype("string").str.strip()
    else:
        parts = df[keys].astype("string").apply(lambda s: s.str.strip())
        out["unique_id"] = join_keys(parts.fillna(""), keys)
        out.loc[parts.isna().any(axis=1) | (parts == "").any(axis=1), "unique_id"] = pd.NA
    for k in keys:
        out[k] = df[k].astype("string").str.strip()
    blank = (out["unique_id"].isna() | (out["unique_id"] == "")).to_numpy()
    if blank.any():
        problems.append(HistoryProblem(id_col or series_id(keys), "missing series id", tuple(rowno[blank].tolist())))

    raw_ds = df[ds_col]
    if pd.api.types.is_datetime64_any_dtype(raw_ds):
        ds = raw_ds.dt.tz_localize(None) if getattr(raw_ds.dt, "tz", None) is not None else raw_ds
    else:
        with warnings.catch_warnings():  # mixed formats are parsed one by one; bad ones reported below
            warnings.simplefilter("ignore", UserWarning)
            ds = pd.to_datetime(raw_ds, format=date_format, errors="coerce")
    bad_ds = ds.isna().to_numpy()
    if bad_ds.any():
        problems.append(HistoryProblem(ds_col, "unparseable or missing date", tuple(rowno[bad_ds].tolist())))
    out["ds"] = ds

    numeric = [(value_col, "value")]
    if quantiles:
        numeric += [(q, q) for q in ("p10", "p90") if q in df.columns]
    for col, name in numeric:
        v = pd.to_numeric(df[col], errors="coerce").astype(float)
        bad = (~np.isfinite(v)).to_numpy()
        if bad.any():
            problems.append(HistoryProblem(col, "not a number or missing", tuple(rowno[bad].tolist())))
        neg = (v < 0).to_numpy()
        if neg.any():
            problems.append(HistoryProblem(col, "negative value", tuple(rowno[neg].tolist())))
        out[name] = v
    if quantiles:
        out["p50"] = out["value"]
        if "p10" in out and "p90" in out:
            disorder = ((out["p10"] > out["p50"]) | (out["p50"] > out["p90"])).to_numpy()
            if disorder.any():
                problems.append(HistoryProblem(
                    "p10/p50/p90", "quantiles out of order (need p10 <= p50 <= p90)", tuple(rowno[disorder].tolist())
                ))
        if "method" in df.columns:
            out["method"] = df["method"].astype("string")

    dup = out.duplicated(subset=["unique_id", "ds"], keep=False).to_numpy() & ~bad_ds & ~blank
    if dup.any():
        problems.append(HistoryProblem(
            f"{id_col or series_id(keys)} + {ds_col}", "duplicate rows for the same series and date", tuple(rowno[dup].tolist())
        ))
    if problems:
        raise SubmissionError(problems)

    rows_in = len(out)
    if freq is not None:
        out["ds"] = bucket_start(out["ds"], freq)
        sums = [c for c in ("value", "p10", "p50", "p90") if c in out.columns]
        firsts = [c for c in out.columns if c not in sums and c not in ("unique_id", "ds")]
        how = {**{c: "sum" for c in sums}, **{c: "first" for c in firsts}}
        out = out.groupby(["unique_id", "ds"], sort=False).agg(how).reset_index()
    order = ["unique_id", "ds", "value", *keys] + [c for c in ("p10", "p50", "p90", "method") if c in out.columns]
    out = out[order].sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    out["unique_id"] = out["unique_id"].astype(str)
    for k in keys:
        out[k] = out[k].astype(str)
    return out, rows_in


# ----------------------------------------------------------------------------- file storage


@contextmanager
def locked(root: Path) -> Iterator[None]:
    """Exclusive lock over a store directory (``root/.lock``) for read-modify-write."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path, default: Any) -> Any:
    if not path.exists():
        return default
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SubmissionError([HistoryProblem(str(path), f"cannot parse: {exc}")], "damaged store") from None


def utc(when: datetime | str | None) -> datetime:
    """``when`` as an aware UTC datetime; naive times are taken as UTC; None is now."""
    if when is None:
        return datetime.now(timezone.utc)
    ts = pd.Timestamp(when)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


def empty_sources() -> pd.DataFrame:
    """An empty ``unique_id, ds, source, value`` table (typed)."""
    dtypes = {"unique_id": str, "ds": "datetime64[ns]", "source": str, "value": float}
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in dtypes.items()})


def refuse_reserved_source(partner: str) -> None:
    """A partner may not submit as ``statistical``, the source name of the statistical runs."""
    if partner == STATISTICAL:
        raise SubmissionError([HistoryProblem("partner", "'statistical' is reserved for statistical runs: use save_statistical")])


class SubmissionStore:
    """Versioned partner submissions and statistical runs under one directory (see module doc)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._manifest = self.root / "manifest.json"

    # -- writing
    def submit(
        self,
        partner: str,
        author: str,
        table: pd.DataFrame | str | Path,
        *,
        submitted_at: datetime | str | None = None,
        note: str = "",
        columns: Mapping[str, str] | None = None,
        keys: list[str] | None = None,
        date_format: str | None = None,
        freq: Literal["W", "M"] | None = None,
    ) -> Submission:
        """Check ``table`` (a DataFrame, CSV or Parquet; see :func:`normalise_forecast_table`
        for ``columns``/``keys``/``date_format``/``freq``) and store it as the partner's next
        version. Raises :class:`SubmissionError` naming every bad field and row."""
        refuse_reserved_source(partner)
        data, rows_in = normalise_forecast_table(
            read_table(table), columns=columns, keys=keys, date_format=date_format, freq=freq
        )
        return self._store(partner, "partner", author, data, rows_in, submitted_at, note)

    def add_submission(self, partner: str, data: pd.DataFrame, rows_in: int, *, author: str, note: str = "",
                       submitted_at: datetime | str | None = None) -> Submission:
        """Store a table already checked by :func:`normalise_forecast_table` (``rows_in``: its
        rows before bucketing) as the partner's next version."""
        refuse_reserved_source(partner)
        return self._store(partner, "partner", author, data, rows_in, submitted_at, note)

    def save_statistical(
        self,
        forecast: pd.DataFrame | str | Path,
        author: str,
        *,
        submitted_at: datetime | str | None = None,
        note: str = "",
    ) -> Submission:
        """Store a statistical forecast table (``unique_id``/keys, ``ds``/``date``, ``p50`` and
        optionally ``p10``, ``p90``, ``method``) as the next version of source ``statistical``."""
        data, rows_in = normalise_forecast_table(read_table(forecast), quantiles=True)
        return self._store(STATISTICAL, "statistical", author, data, rows_in, submitted_at, note)

    def _store(self, partner, kind, author, data, rows_in, submitted_at, note) -> Submission:
        problems = []
        if not isinstance(partner, str) or not _SAFE_NAME.match(partner):
            problems.append(HistoryProblem(
                "partner", f"{partner!r} is not a valid id (letters, digits, _ . - or space; up to 64; starts with a letter or digit)"
            ))
        if not isinstance(author, str) or not author.strip():
            problems.append(HistoryProblem("author", "required"))
        if problems:
            raise SubmissionError(problems)
        when = utc(submitted_at)
        payload = data.to_csv(index=False, lineterminator="\n").encode("utf-8")
        digest = hashlib.sha256(payload).hexdigest()
        keys = [c for c in data.columns if c not in ("unique_id", "ds", "value", "p10", "p50", "p90", "method")]
        with locked(self.root):
            manifest = read_json(self._manifest, {"format": 1, "versions": []})
            version = 1 + max((v["version"] for v in manifest["versions"] if v["partner"] == partner), default=0)
            rel = f"data/{partner}/v{version:04d}.csv"
            write_atomic(self.root / rel, payload)
            sub = Submission(
                partner=partner, version=version, kind=kind, author=author.strip(), submitted_at=when,
                rows=len(data), rows_in=rows_in, keys=keys, content_hash=digest, file=rel, note=note,
            )
            manifest["versions"].append(sub.model_dump(mode="json"))
            write_atomic(self._manifest, json.dumps(manifest, indent=1).encode("utf-8"))
        return sub

    # -- reading
    def versions(self, partner: str | None = None) -> list[Submission]:
        """Every stored version (of one partner, or all), ordered by partner then version."""
        manifest = read_json(self._manifest, {"format": 1, "versions": []})
        subs = [Submission.model_validate(v) for v in manifest["versions"]]
        if partner is not None:
            subs = [s for s in subs if s.partner == partner]
        return sorted(subs, key=lambda s: (s.partner, s.version))

    def partners(self) -> list[str]:
        """Partners with at least one submission (statistical runs excluded)."""
        return sorted({s.partner for s in self.versions() if s.kind == "partner"})

    def version(self, partner: str, version: int | None = None, *, as_of: datetime | str | None = None) -> Submission:
        """Metadata of one version: ``version``, else the highest version submitted at or before
        ``as_of``, else the latest (highest version number)."""
        subs = self.versions(partner)
        if as_of is not None:
            cutoff = utc(as_of)
            subs = [s for s in subs if s.submitted_at <= cutoff]
        if version is not None:
            subs = [s for s in subs if s.version == version]
        if not subs:
            have = ", ".join(str(s.version) for s in self.versions(partner)) or "none"
            what = f"version {version}" if version is not None else "any version" + (f" at or before {as_of}" if as_of else "")
            raise SubmissionError([HistoryProblem("partner" if not self.versions(partner) else "version",
                                                  f"{partner!r} has no {what} (stored versions: {have})")], "not found")
        return subs[-1]

    def load(self, partner: str, version: int | None = None, *, as_of: datetime | str | None = None) -> pd.DataFrame:
        """One version's data (``unique_id, ds, value`` + keys; statistical runs also ``p10, p50,
        p90, method``); ``version=None`` is the latest. The data file's hash is checked."""
        sub = self.version(partner, version, as_of=as_of)
        payload = (self.root / sub.file).read_bytes()
        if hashlib.sha256(payload).hexdigest() != sub.content_hash:
            problem = HistoryProblem(sub.file, "content hash differs from the manifest: the stored version was altered")
            raise SubmissionError([problem], "damaged store")
        df = pd.read_csv(io.BytesIO(payload), dtype=str, keep_default_na=False, na_values=[""])
        df["ds"] = pd.to_datetime(df["ds"])
        for c in ("value", "p10", "p50", "p90"):
            if c in df.columns:
                df[c] = df[c].astype(float)
        return df

    def load_statistical(self, version: int | None = None, *, as_of: datetime | str | None = None) -> pd.DataFrame:
        """A stored statistical run (latest by default): ``unique_id, ds, value, p10, p50, p90, method``."""
        return self.load(STATISTICAL, version, as_of=as_of)

    def latest_sources(self, *, as_of: datetime | str | None = None, include_statistical: bool = True) -> pd.DataFrame:
        """Long ``unique_id, ds, source, value``: each partner's latest version (and the latest
        statistical run, source ``statistical``), or the latest at or before ``as_of``."""
        names = sorted({s.partner for s in self.versions() if include_statistical or s.kind == "partner"})
        frames = []
        for name in names:
            try:
                df = self.load(name, as_of=as_of)
            except SubmissionError:
                if as_of is None:
                    raise
                continue  # nothing from this source yet at as_of
            frames.append(df.assign(source=name)[SOURCE_COLUMNS])
        if not frames:
            return empty_sources()
        return pd.concat(frames, ignore_index=True)

    def all_versions(self) -> pd.DataFrame:
        """Every version of every source in long format: ``unique_id, ds, source, version,
        submitted_at, value`` (the input :mod:`forecasting.fva` needs to score past forecasts)."""
        frames = [
            self.load(s.partner, s.version).assign(source=s.partner, version=s.version, submitted_at=pd.Timestamp(s.submitted_at))
            [VERSION_COLUMNS]
            for s in self.versions()
        ]
        if not frames:
            return pd.DataFrame(columns=VERSION_COLUMNS)
        return pd.concat(frames, ignore_index=True)
