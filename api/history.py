"""The shared sales history as owned series and versioned points.

- :func:`parse_table`: a CSV or JSON request body as column names and rows of text, read row by
  row (the csv module over the body) with the upload limits checked as it goes: the column count
  on the header, before any row is read; rows and cells while reading (413 past them); header-only
  tables, duplicate or blank column names and bodies nested too deeply are 422 naming the field.
- :func:`check_history`: an uploaded table checked (dates, quantities, keys, duplicates) and
  normalised to ``(series key values, date, quantity)`` without building a table of every column.
- :func:`store_upload`: the collaboration's rules applied to an upload (fixed key columns; each
  series written by its owner only; 409 naming every series owned by another partner, nothing
  stored) and its points inserted in bulk.
- :func:`history_frame` / :func:`partner_items`: reads. The value of a (series, date) is the
  latest point (highest id) from a non-retracted upload of the series' owner; only the key
  columns, the date and the quantity are read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from dataclasses import dataclass
from datetime import date
from typing import Any, Iterable

import numpy as np
import pandas as pd
from fastapi import HTTPException
from sqlalchemy import String, cast, func, insert, literal_column, select, union, update
from sqlalchemy.orm import Session

from api.models import DataUpload, HistoryPoint, HistoryRules, HistorySeries, SeriesShare, utcnow
from forecasting.keys import SEPARATOR, join_keys

CSV_TYPES = ("text/csv", "application/csv")
JSON_TYPE = "application/json"
CHUNK = 500  # ids per IN (...) list
INSERT_BATCH = 10_000
RESERVED = ("date", "quantity")


def problem(field: str, msg: str, type_: str = "value_error") -> dict[str, Any]:
    return {"field": field, "loc": field.split("."), "msg": msg, "type": type_}


def unprocessable(field: str, *msgs: str) -> HTTPException:
    return HTTPException(422, detail=[problem(field, m) for m in msgs])


@dataclass(frozen=True)
class Limits:
    """Upload limits (``JOINTPLAN_MAX_UPLOAD_COLUMNS``, ``_ROWS``, ``_CELLS``)."""

    columns: int = 32
    rows: int = 250_000
    cells: int = 2_500_000

    @classmethod
    def of(cls, settings: Any) -> "Limits":
        return cls(settings.max_upload_columns, settings.max_upload_rows, settings.max_upload_cells)


@dataclass
class Table:
    """A body's table (text or JSON values, None where empty; at most the upload limits), its
    format and the JSON body's other fields."""

    frame: pd.DataFrame
    format: str
    extra: dict[str, Any]

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


def _too_many_rows(limits: Limits) -> HTTPException:
    return HTTPException(413, detail=f"more than {limits.rows} data rows: the limit is {limits.rows} rows per "
                                     "upload (JOINTPLAN_MAX_UPLOAD_ROWS); split the table")


def _too_many_cells(limits: Limits, ncols: int) -> HTTPException:
    return HTTPException(413, detail=f"more than {limits.cells} cells ({ncols} columns): the limit is {limits.cells} "
                                     "cells per upload (JOINTPLAN_MAX_UPLOAD_CELLS); split the table")


def _check_header(names: list[str], limits: Limits) -> None:
    if len(names) > limits.columns:
        raise unprocessable("body", f"{len(names)} columns: at most {limits.columns} columns per upload "
                                    "(JOINTPLAN_MAX_UPLOAD_COLUMNS)")
    seen: set[str] = set()
    for i, name in enumerate(names):
        if not name.strip():
            raise unprocessable(f"body.(column {i + 1})", "column without a name in the header")
        if name in seen:
            raise unprocessable(f"body.{name}", f"column {name!r} appears more than once in the header")
        seen.add(name)


def _int_or_float(text: str) -> int | float:
    """JSON integers: exact when short, else as float (a 5,000-digit integer becomes inf and is
    refused as not finite, naming its field, instead of failing the int conversion)."""
    return int(text) if len(text) <= 30 else float(text)


def parse_table(content_type: str | None, body: bytes, limits: Limits) -> Table:
    """The table in a request body (see the module docstring); 415 for another content type."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in CSV_TYPES:
        return _parse_csv(body, limits)
    if kind == JSON_TYPE or kind == "":
        return _parse_json(body, limits)
    raise HTTPException(415, detail=f"Content-Type {kind!r} not supported: send text/csv or application/json")


def _parse_csv(body: bytes, limits: Limits) -> Table:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise unprocessable("body", f"CSV is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    if "\x00" in text:
        raise unprocessable("body", "CSV contains a NUL character")
    try:  # the header alone first: its columns are checked before any row is read
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        while header is not None and not header:  # blank lines before the header
            header = next(reader, None)
    except csv.Error as exc:
        raise unprocessable("body", f"not a readable CSV header: {exc}") from None
    if header is None:
        raise unprocessable("body", "no header row: the body is empty")
    _check_header(header, limits)
    ncols = len(header)
    max_rows = min(limits.rows, limits.cells // ncols)
    try:  # then at most max_rows + 1 rows, by pandas' C parser
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""], nrows=max_rows + 1,
                         skip_blank_lines=True, engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise unprocessable("body", f"not a readable CSV table: {str(exc).strip() or type(exc).__name__}") from None
    if len(df) > max_rows:
        raise _too_many_rows(limits) if max_rows == limits.rows else _too_many_cells(limits, ncols)
    if list(df.columns) != header:  # pandas read another header than the csv module (e.g. odd quoting)
        raise unprocessable("body", "the header row cannot be read unambiguously")
    if df.empty:
        raise unprocessable("body", "no data rows: the table has a header only")
    return Table(df, "csv", {})


def _parse_json(body: bytes, limits: Limits) -> Table:
    try:
        data = json.loads(body or b"null", parse_int=_int_or_float)
    except RecursionError:
        raise unprocessable("body", "JSON nested too deeply: expected {\"rows\": [{column: value}, ...]}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise unprocessable("body", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise unprocessable("body", "expected an object with a 'rows' list")
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows:
        raise unprocessable("body.rows", "required: a non-empty list of objects (one per row)")
    if len(rows) > limits.rows:
        raise _too_many_rows(limits)
    index: dict[str, int] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row:
            raise unprocessable(f"body.rows.{i}", "must be an object of column: value")
        for k, v in row.items():
            if k not in index:
                if "\x00" in k:
                    raise unprocessable(f"body.rows.{i}", "a column name contains a NUL character")
                if not k.strip():
                    raise unprocessable(f"body.rows.{i}", "column without a name")
                index[k] = len(index)
                if len(index) > limits.columns:
                    raise unprocessable("body", f"more than {limits.columns} columns: at most {limits.columns} "
                                                "columns per upload (JOINTPLAN_MAX_UPLOAD_COLUMNS)")
            if v is not None and not isinstance(v, (str, int, float)) or isinstance(v, bool):
                raise unprocessable(f"body.rows.{i}.{k}", "must be a string, a number or null")
            if isinstance(v, str) and "\x00" in v:
                raise unprocessable(f"body.rows.{i}.{k}", "contains a NUL character")
    ncols = len(index)
    if len(rows) * ncols > limits.cells:
        raise _too_many_cells(limits, ncols)
    columns = list(index)
    frame = pd.DataFrame([[row.get(c) for c in columns] for row in rows], columns=columns, dtype=object)
    return Table(frame, "json", {k: v for k, v in data.items() if k != "rows"})


# ----------------------------------------------------------------------------- checking an upload


@dataclass
class History:
    """A checked upload: its key columns, and per row the key values (a frame of text, one column
    per key), the date and the quantity."""

    keys: list[str]
    key_frame: pd.DataFrame
    dates: list[date]
    quantities: np.ndarray
    _sids: list[str] | None = None
    days: np.ndarray | None = None  # the dates as datetime64[D] (for hashing)

    def series_ids(self) -> list[str]:
        if self._sids is None:
            self._sids = join_keys(self.key_frame, self.keys).tolist()
        return self._sids

    def key_values(self) -> dict[str, tuple[str, ...]]:
        """Key values of each series of the upload."""
        firsts = self.key_frame.assign(_sid=self.series_ids()).drop_duplicates("_sid")
        return {row[0]: tuple(row[1:]) for row in firsts[["_sid", *self.keys]].itertuples(index=False, name=None)}


def _rows_text(rows: np.ndarray) -> str:
    rows = rows.tolist()
    return f" (rows {', '.join(map(str, rows[:10]))}{' ...' if len(rows) > 10 else ''})"


def check_history(table: Table, date_column: str, quantity_column: str) -> History:
    """Checks of :func:`forecasting.history.check_values` (dates, non-negative finite quantities,
    key values present, no duplicate keys and date), vectorised over the needed columns only."""
    df = table.frame
    have = ", ".join(table.columns)
    missing = [c for c in (date_column, quantity_column) if c not in table.columns]
    if missing:
        raise HTTPException(422, detail=[problem(f"body.{c}", f"column not found; the table has {have}") for c in missing])
    keys = [c for c in table.columns if c not in (date_column, quantity_column)]
    if not keys:
        raise unprocessable("body.(keys)", "no key column: name at least one (e.g. product)")
    bad = [k for k in keys if k in RESERVED]
    if bad:
        raise HTTPException(422, detail=[problem(f"body.{k}", "a key column may not be called date or quantity")
                                          for k in bad])
    problems = []
    rowno = np.arange(1, len(df) + 1)
    raw = df[date_column]
    text = raw.where(raw.notna(), None).astype(object).map(lambda v: v if v is None or isinstance(v, str) else str(v)) \
        if table.format == "json" else raw
    try:
        dates = pd.to_datetime(text, errors="coerce")
    except (ValueError, TypeError, OverflowError):  # e.g. mixed time zones
        dates = pd.to_datetime(text, errors="coerce", utc=True)
    nat = dates.isna().to_numpy()
    if nat.any():
        problems.append(problem(f"body.{date_column}", "unparseable or missing date" + _rows_text(rowno[nat])))
    qty = pd.to_numeric(df[quantity_column], errors="coerce").astype(float).to_numpy()
    nan = np.isnan(qty)
    if nan.any():
        problems.append(problem(f"body.{quantity_column}", "not a number or missing" + _rows_text(rowno[nan])))
    inf = np.isinf(qty)
    if inf.any():
        problems.append(problem(f"body.{quantity_column}", "not a finite number" + _rows_text(rowno[inf])))
    with np.errstate(invalid="ignore"):
        neg = qty < 0
    if neg.any():
        problems.append(problem(f"body.{quantity_column}", "negative quantity" + _rows_text(rowno[neg])))
    key_frame = pd.DataFrame(index=df.index)
    for k in keys:
        col = df[k]
        present = col.notna()
        values = col.where(present, "").astype(str).str.strip()
        blank = (values == "").to_numpy()
        if blank.any():
            problems.append(problem(f"body.{k}", "missing key value" + _rows_text(rowno[blank])))
        slash = values.str.contains(SEPARATOR, regex=False).to_numpy()
        if slash.any():  # a series id is its key values joined by '/': ('a/b', 'c') and ('a', 'b/c') would collide
            problems.append(problem(f"body.{k}", f"a key value may not contain '{SEPARATOR}' (series ids join the key "
                                                 f"values with '{SEPARATOR}')" + _rows_text(rowno[slash])))
        key_frame[k] = values
    hist = History(keys, key_frame.reset_index(drop=True), [], qty)
    if not problems:
        dup = pd.DataFrame({"s": hist.series_ids(), "d": dates.to_numpy()}).duplicated(keep=False).to_numpy()
        if dup.any():
            problems.append(problem(f"body.{date_column}", "duplicate rows for the same keys and date" + _rows_text(rowno[dup])))
    if problems:
        raise HTTPException(422, detail=problems)
    hist.dates = dates.dt.date.tolist()
    naive = dates.dt.tz_convert(None) if dates.dt.tz is not None else dates
    hist.days = naive.to_numpy().astype("datetime64[D]")
    return hist


# ----------------------------------------------------------------------------- rules and storing


def key_columns(session: Session) -> list[str] | None:
    """The collaboration's fixed key columns (None: not fixed yet)."""
    rules = session.get(HistoryRules, 1)
    return list(rules.key_columns) if rules is not None else None


def conform_keys(hist: History, fixed: list[str] | None) -> History:
    """The upload's key columns must be the fixed ones (any order; rows reordered to theirs)."""
    if fixed is None or hist.keys == fixed:
        return hist
    extra = [k for k in hist.keys if k not in fixed]
    missing = [k for k in fixed if k not in hist.keys]
    if extra or missing:
        rule = f"the shared history's key columns are fixed: {', '.join(fixed)} (plus the date and quantity columns)"
        raise HTTPException(422, detail=[problem(f"body.{k}", f"not a key column of the shared history; {rule}")
                                         for k in extra] + [problem(f"body.{k}", f"key column missing; {rule}")
                                                            for k in missing])
    return History(list(fixed), hist.key_frame[fixed], hist.dates, hist.quantities, days=hist.days)


def _chunks(items: list, n: int = CHUNK) -> Iterable[list]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


def series_by_id(session: Session, series_ids: list[str]) -> dict[str, tuple[int, str]]:
    """``series_id -> (pk, owner partner)`` of the stored series among ``series_ids``."""
    out: dict[str, tuple[int, str]] = {}
    for part in _chunks(series_ids):
        for pk, sid, owner in session.execute(select(HistorySeries.id, HistorySeries.series_id,
                                                     HistorySeries.owner_partner_id)
                                              .where(HistorySeries.series_id.in_(part))):
            out[sid] = (pk, owner)
    return out


def store_upload(session: Session, upload: DataUpload, hist: History, staff: bool,
                 max_points: int | None = None) -> None:
    """Apply the ownership rule and add ``upload`` with its points (not committed). 409 naming
    every series of the upload owned by another partner, 413 when the history would then hold
    more than ``max_points`` current points: nothing is stored then (the caller rolls back).

    Every series of an accepted upload is its uploader's, so its points are current and replace
    the earlier current point of each of their (series, date). Uploads are serialised on the
    rules row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite serialises writers anyway), so two
    concurrent uploads of a series cannot both leave a point current for the same date."""
    lock_rules(session)
    partner = upload.partner_id
    sids = hist.series_ids()
    unique = list(dict.fromkeys(sids))
    known = series_by_id(session, unique)
    foreign = [(sid, owner) for sid, (_pk, owner) in known.items() if owner != partner]
    if foreign:
        foreign.sort()
        who = (lambda o: f"partner {o}") if staff else (lambda o: "another partner")
        detail = [problem("body", f"series {sid} belongs to {who(owner)}: only its owner may add, correct or "
                                  "retract its rows; the whole upload was refused", "series_owned_by_another")
                  for sid, owner in foreign[:50]]
        if len(foreign) > 50:
            detail.append(problem("body", f"... and {len(foreign) - 50} more series owned by other partners",
                                  "series_owned_by_another"))
        raise HTTPException(409, detail=detail)
    if session.get(HistoryRules, 1) is None:
        session.add(HistoryRules(id=1, key_columns=hist.keys))
    session.add(upload)
    session.flush()
    rules = session.get(HistoryRules, 1)
    if rules.from_upload_id is None and rules.declared_by_id is None:
        rules.from_upload_id = upload.id
    now = utcnow()
    new = [sid for sid in unique if sid not in known]
    if new:
        first = hist.key_values()
        for part in _chunks(new, INSERT_BATCH):
            session.execute(insert(HistorySeries), [
                {"series_id": sid, "key_values": list(first[sid]), "owner_partner_id": partner,
                 "created_at": now, "updated_at": now} for sid in part])
        known.update(series_by_id(session, new))
    pk = {sid: v[0] for sid, v in known.items()}
    upload_id = upload.id
    insert_points(session, [(pk[sid], d, q, upload_id) for sid, d, q in zip(sids, hist.dates, hist.quantities.tolist())])
    if len(known) > len(new):  # some series had points: the new ones replace their versions of the same dates
        demote_replaced(session, upload_id, [pk[sid] for sid in unique if sid not in new])
    if max_points is not None:
        total = count_current(session)
        if total > max_points:
            raise HTTPException(413, detail=f"the shared history would hold {total} current points, more than "
                                            f"{max_points} (JOINTPLAN_MAX_HISTORY_POINTS): nothing was stored; "
                                            "retract old uploads or ask an admin to raise the limit")


def insert_points(session: Session, points: list[tuple[int, date, float, int]]) -> None:
    """``(series_pk, date, quantity, upload_id)`` rows into history_points as current points, in
    the session's transaction: COPY on PostgreSQL (executemany there sends one statement per row),
    executemany elsewhere."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            with cur.copy("COPY history_points (series_pk, date, quantity, upload_id, current) "
                          "FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "date", "float8", "int4", "bool"])
                for row in points:
                    copy.write_row((*row, True))
        return
    if conn.dialect.name == "sqlite":  # the DB-API executemany, dates as SQLAlchemy stores them on SQLite (ISO text)
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.executemany("INSERT INTO history_points (series_pk, date, quantity, upload_id, current) "
                            "VALUES (?, ?, ?, ?, 1)", [(a, d.isoformat(), q, u) for a, d, q, u in points])
        finally:
            cur.close()
        return
    table = HistoryPoint.__table__
    for part in _chunks(points, INSERT_BATCH):
        conn.execute(table.insert(), [{"series_pk": a, "date": d, "quantity": q, "upload_id": u, "current": True}
                                      for a, d, q, u in part])


def lock_rules(session: Session) -> None:
    """Serialise writers of the shared history on the rules row (PostgreSQL; a no-op elsewhere)."""
    if session.connection().dialect.name == "postgresql":
        session.execute(select(HistoryRules.id).where(HistoryRules.id == 1).with_for_update())


def demote_replaced(session: Session, upload_id: int, series_pks: list[int]) -> None:
    """Points of ``series_pks`` no longer current because upload ``upload_id`` (current, by the
    owner) has a point for the same (series, date)."""
    p = HistoryPoint.__table__
    new, old = p.alias("new"), p.alias("old")
    for part in _chunks(series_pks):
        # the new points drive the join (by upload), the old ones are found by (series, date)
        replaced = (select(old.c.id).select_from(new.join(old, (old.c.series_pk == new.c.series_pk)
                                                          & (old.c.date == new.c.date)))
                    .where(new.c.upload_id == upload_id, new.c.series_pk.in_(part), old.c.current,
                           old.c.upload_id != upload_id))
        session.execute(update(p).where(p.c.id.in_(replaced)).values(current=False))


def refresh_current(session: Session, series_pks: Iterable[int]) -> None:
    """Recompute ``current`` for the points of ``series_pks`` from its definition
    (:func:`current_points`): after a retraction or a change of owner."""
    p = HistoryPoint.__table__
    for part in _chunks(sorted(set(series_pks))):
        session.execute(update(p).where(p.c.series_pk.in_(part), p.c.current).values(current=False))
        ids = current_points(series_pks=part).subquery()
        session.execute(update(p).where(p.c.id.in_(select(ids.c.id))).values(current=True))


def count_current(session: Session) -> int:
    """Current points of the shared history."""
    return session.scalar(select(func.count()).select_from(HistoryPoint).where(HistoryPoint.current)) or 0


def content_hash(hist: History) -> str:
    """SHA-256 of the checked rows: the series ids (one a line), then the dates (days since
    1970 as int64) and the quantities (float64)."""
    h = hashlib.sha256("\n".join(hist.series_ids()).encode())
    days = hist.days if hist.days is not None else np.array(hist.dates, dtype="datetime64[D]")
    h.update(days.astype(np.int64).tobytes())
    h.update(np.ascontiguousarray(hist.quantities, dtype=np.float64).tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- reading


def current_points(owners: list[str] | None = None, series_pks: list[int] | None = None):
    """Ids of the points that count (the definition ``history_points.current`` is kept equal to):
    per (series, date) the latest point of a non-retracted upload by the series' owner."""
    p, u, s = HistoryPoint, DataUpload, HistorySeries
    q = (select(func.max(p.id).label("id")).join(u, u.id == p.upload_id).join(s, s.id == p.series_pk)
         .where(u.retracted_at.is_(None), u.partner_id == s.owner_partner_id))
    if owners is not None:
        q = q.where(s.owner_partner_id.in_(owners))
    if series_pks is not None:
        q = q.where(p.series_pk.in_(series_pks))
    return q.group_by(p.series_pk, p.date)


READ_BATCH = 20_000  # rows fetched at a time by history_frame (the peak beyond the arrays)
POINT_TEXT_DAY = np.dtype([("series_pk", np.int64), ("day", "datetime64[D]"), ("quantity", np.float64)])
POINT_INT_DAY = np.dtype([("series_pk", np.int64), ("day", np.int64), ("quantity", np.float64)])


def driver_batches(session: Session, stmt) -> Iterable[list[tuple]]:
    """The rows of ``stmt`` as lists of up to :data:`READ_BATCH` plain tuples, straight from the
    DB-API cursor in the session's transaction (a server-side cursor on PostgreSQL, so the client
    never holds more than one batch): no Row object per row, no result processing."""
    conn = session.connection()
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup)
    raw = conn.connection.driver_connection
    cursor = raw.cursor(name=f"history_{id(stmt):x}") if conn.dialect.name == "postgresql" else raw.cursor()
    try:
        cursor.execute(str(compiled), params)
        while part := cursor.fetchmany(READ_BATCH):
            yield part
    finally:
        cursor.close()


def history_frame(session: Session, partner_ids: list[str] | None = None) -> pd.DataFrame:
    """The shared sales history: key columns, ``date`` (ISO), ``quantity``, one row per (series,
    date) with its current value (of the series owned by ``partner_ids``, or all), ordered by
    series and date.

    Read in batches of :data:`READ_BATCH` rows into arrays (series key, day, quantity: 24 bytes a
    point) from the partial index of current points; the key and date columns of the result hold
    references to one string per distinct value, so the frame costs about 8 bytes per column and
    point, and the read's peak below 100 bytes a point plus one batch."""
    keys = key_columns(session) or []
    p, s = HistoryPoint, HistorySeries
    if session.connection().dialect.name == "sqlite":  # the stored ISO text, parsed by numpy
        day_column, point = cast(p.date, String), POINT_TEXT_DAY
    else:  # days since 1970 (numpy converts date objects one by one, 3x slower)
        day_column, point = literal_column("history_points.date - DATE '1970-01-01'"), POINT_INT_DAY
    q = select(p.series_pk, day_column, p.quantity).where(p.current)
    if partner_ids is not None:
        q = q.join(s, s.id == p.series_pk).where(s.owner_partner_id.in_(partner_ids))
    # each batch of plain tuples turned into one structured array by numpy (the columns need no
    # result processing: see day_column)
    batches = [np.array(part, dtype=point) for part in driver_batches(session, q.order_by(p.series_pk, p.date))]
    if not batches:
        return pd.DataFrame(columns=[*keys, "date", "quantity"])
    points = np.concatenate(batches)
    del batches
    pk = points["series_pk"]
    starts = np.flatnonzero(np.r_[True, pk[1:] != pk[:-1]])  # rows come ordered by series
    used = pk[starts]
    series_of = np.repeat(np.arange(len(starts), dtype=np.int32), np.diff(np.r_[starts, len(pk)]))
    day = points["day"].astype(np.int64)
    quantity = points["quantity"].copy()
    del points, pk
    values: dict[int, list[str]] = {}
    for part in _chunks(used.tolist(), 5_000):
        for spk, kv in session.execute(select(s.id, s.key_values).where(s.id.in_(part))):
            values[spk] = kv
    out = {k: np.array([values[spk][i] for spk in used.tolist()], dtype=object)[series_of]
           for i, k in enumerate(keys)}
    first = int(day.min())
    span = np.arange(first, int(day.max()) + 1).astype("datetime64[D]")
    day -= first
    out["date"] = np.datetime_as_string(span).astype(object)[day]
    out["quantity"] = quantity
    return pd.DataFrame(out, copy=False)


def visible_series_query(partner_id: str):
    """``series_id`` of the series a partner sees: its own and those shared with it."""
    own = select(HistorySeries.series_id).where(HistorySeries.owner_partner_id == partner_id)
    shared = (select(HistorySeries.series_id).join(SeriesShare, SeriesShare.series_pk == HistorySeries.id)
              .where(SeriesShare.partner_id == partner_id))
    return union(own, shared)


def partner_items(session: Session, partner_id: str) -> set[str]:
    """Series a partner sees: the ones it owns and the ones an admin/planner shared with it
    (never widened by what it uploads or submits for others' series)."""
    return set(session.scalars(visible_series_query(partner_id)))


def may_see(session: Session, partner_id: str | None, series: HistorySeries) -> bool:
    if partner_id is None or series.owner_partner_id == partner_id:
        return True
    return session.scalar(select(func.count()).select_from(SeriesShare).where(
        SeriesShare.series_pk == series.id, SeriesShare.partner_id == partner_id)) > 0


def upload_rows(session: Session, upload: DataUpload) -> list[dict[str, Any]]:
    """An upload's rows from its points (keys, date, quantity), in upload order; uploads the
    migration could not place in the fixed key columns keep their original rows."""
    keys = key_columns(session) or list(upload.keys)
    p, s = HistoryPoint, HistorySeries
    rows = session.execute(select(s.key_values, p.date, p.quantity).join(s, s.id == p.series_pk)
                           .where(p.upload_id == upload.id).order_by(p.id)).all()
    if not rows:
        return list(upload.rows or [])
    return [{**dict(zip(keys, kv)), "date": d.isoformat(), "quantity": q} for kv, d, q in rows]


def finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)
