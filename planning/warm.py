"""Warm starts: a plan keeps HiGHS's final basis keyed by names; a later solve starts from it.

A solved LP's basis is the status of every column (variable) and row (constraint): basic, or
nonbasic at its lower or upper bound. :class:`SavedBasis` keeps those statuses with the model's
own names (``produce[plant00,p001,3]``, ``inventory_balance[dc00,p001,3]``: the names Pyomo gives,
which reports and diagnoses cite), so it survives a rebuild of the model from an edited scenario.
A MIP keeps its solution (column values by name) instead: HiGHS's basis of a MIP is of no use to
the next branch and bound, a starting solution is.

:func:`warm_basis` maps a saved basis onto a newly compiled model: names present in both keep
their status, new columns start nonbasic at a finite bound (HiGHS's own default), new rows start
basic (their slack in the basis), and nonbasic statuses whose bound is no longer finite move to the
other bound. The count of basic variables may then differ from the row count (a dropped basic
column, a new column that should be basic): the basis is handed over as an *alien* basis, which
HiGHS checks and completes (``Highs::setBasis`` with ``alien``: it factorises the basis matrix and
replaces dependent or missing basic variables by slacks) before simplex starts.

The encoded form (:meth:`SavedBasis.to_bytes`) is one zlib stream: a JSON header with the names,
then the status bytes (and, for a MIP, the column values as float64). A 57k-variable plan's basis
is about 0.25 MB, a 271k-variable plan's about 1.2 MB.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from .status import has_solution

FORMAT = "jointplan-basis/1"
MAGIC = b"JPBASIS1"

# HighsBasisStatus values (kLower, kBasic, kUpper, kZero, kNonbasic), as stored.
LOWER, BASIC, UPPER, ZERO, NONBASIC = 0, 1, 2, 3, 4
INF = 1e30  # |bound| >= this counts as infinite (kHighsInf is inf)


class BasisError(ValueError):
    """A saved basis that cannot be read (not a jointplan basis, truncated, inconsistent)."""


@dataclass
class SavedBasis:
    """The end state of one solve, keyed by the model's column and row names."""

    col_names: list[str]
    row_names: list[str]
    col_status: np.ndarray | None = None  # uint8 per column (an LP's final basis)
    row_status: np.ndarray | None = None  # uint8 per row
    col_value: np.ndarray | None = None  # float64 per column (a MIP's solution)
    objective: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return "basis" if self.col_status is not None else "solution"

    # ------------------------------------------------------------------ encoding

    def to_bytes(self) -> bytes:
        header = {
            "format": FORMAT,
            "kind": self.kind,
            "columns": len(self.col_names),
            "rows": len(self.row_names),
            "objective": self.objective,
            "meta": self.meta,
            "col_names": self.col_names,
            "row_names": self.row_names,
        }
        parts = [json.dumps(header, separators=(",", ":")).encode("utf-8"), b"\n"]
        if self.col_status is not None:
            parts.append(np.asarray(self.col_status, dtype=np.uint8).tobytes())
            parts.append(np.asarray(self.row_status, dtype=np.uint8).tobytes())
        if self.col_value is not None:
            parts.append(np.asarray(self.col_value, dtype="<f8").tobytes())
        return MAGIC + zlib.compress(b"".join(parts), 6)

    @classmethod
    def from_bytes(cls, blob: bytes) -> "SavedBasis":
        if not isinstance(blob, (bytes, bytearray, memoryview)) or bytes(blob[: len(MAGIC)]) != MAGIC:
            raise BasisError("not a jointplan basis (wrong header)")
        try:
            raw = zlib.decompress(bytes(blob[len(MAGIC):]))
        except zlib.error as exc:
            raise BasisError(f"the basis data is damaged ({exc})") from None
        head, sep, body = raw.partition(b"\n")
        try:
            header = json.loads(head) if sep else None
        except ValueError:
            header = None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise BasisError("not a jointplan basis (unknown format)")
        cols, rows = header.get("col_names"), header.get("row_names")
        if not (isinstance(cols, list) and isinstance(rows, list)
                and all(isinstance(n, str) for n in cols) and all(isinstance(n, str) for n in rows)):
            raise BasisError("the basis has no name lists")
        n, m = len(cols), len(rows)
        kind = header.get("kind")
        out = cls(col_names=cols, row_names=rows, objective=header.get("objective"), meta=header.get("meta") or {})
        if kind == "basis":
            if len(body) != n + m:
                raise BasisError(f"the basis has {len(body)} statuses for {n} columns and {m} rows")
            status = np.frombuffer(body, dtype=np.uint8)
            if len(status) and status.max() > NONBASIC:
                raise BasisError("the basis has unknown status codes")
            out.col_status, out.row_status = status[:n].copy(), status[n:].copy()
        elif kind == "solution":
            if len(body) != 8 * n:
                raise BasisError(f"the solution has {len(body) // 8} values for {n} columns")
            out.col_value = np.frombuffer(body, dtype="<f8").copy()
        else:
            raise BasisError(f"unknown basis kind {kind!r}")
        return out

    def to_json(self) -> dict[str, Any]:
        """The form kept in a plan's JSON file: a few facts, and the bytes as base64."""
        blob = self.to_bytes()
        return {
            "format": FORMAT,
            "kind": self.kind,
            "columns": len(self.col_names),
            "rows": len(self.row_names),
            "bytes": len(blob),
            "data": base64.b64encode(blob).decode("ascii"),
        }

    @classmethod
    def from_json(cls, payload: Any) -> "SavedBasis":
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("data"), str):
            raise BasisError("not a jointplan basis")
        try:
            blob = base64.b64decode(payload["data"], validate=True)
        except (ValueError, TypeError):
            raise BasisError("the basis data is not base64") from None
        return cls.from_bytes(blob)


def read_plan_basis(path: str) -> SavedBasis:
    """The basis kept in a plan JSON file written by ``jointplan plan --out`` (its last key).

    Only the ``"basis"`` object is parsed when it can be found at the end of the file (a large
    plan's tables are not decoded); otherwise the whole file is. Raises FileNotFoundError,
    :class:`BasisError` (no basis, or an unreadable one)."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    payload = None
    at = text.rfind('"basis":')
    if at >= 0:
        start = text.find("{", at)
        if start >= 0:
            try:
                payload, _ = json.JSONDecoder().raw_decode(text, start)
            except ValueError:
                payload = None
    if not (isinstance(payload, dict) and payload.get("format") == FORMAT):
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise BasisError(f"not a plan JSON file ({exc.__class__.__name__}: {exc})") from None
        if not isinstance(doc, dict):
            raise BasisError("not a plan JSON file")
        payload = doc.get("basis")
        if payload is None:
            status = doc.get("status")
            why = f" (its status is {status})" if status is not None and not has_solution(status) else ""
            raise BasisError(f"the plan has no basis{why}: it was written without one")
    return SavedBasis.from_json(payload)


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def component_names(objs: Iterable[Any]) -> list[str]:
    """Pyomo's ``name`` of each VarData / ConstraintData (``family[i,j,t]``), computed a few
    times faster than the ``name`` property: each index part is formatted once (Pyomo's own
    ``name_repr``, so quoting is the same) and each component's name is looked up once."""
    from pyomo.core.base.component_namer import name_repr

    bases: dict[int, tuple[str, bool]] = {}
    memo: dict[tuple[type, Any], str] = {}

    def part(x: Any) -> str:
        key = (x.__class__, x)
        r = memo.get(key)
        if r is None:
            r = memo[key] = name_repr(x)
        return r

    out: list[str] = []
    append = out.append
    for obj in objs:
        comp = obj.parent_component()
        base = bases.get(id(comp))
        if base is None:
            base = bases[id(comp)] = (comp.name, comp.is_indexed())
        if not base[1]:
            append(base[0])
            continue
        idx = obj.index()
        if idx.__class__ is tuple and len(idx) > 1:
            append(base[0] + "[" + ",".join([part(i) for i in idx]) + "]")
        else:
            append(base[0] + "[" + part(idx) + "]")
    return out


# ---------------------------------------------------------------------------------------------
# Mapping onto a new model
# ---------------------------------------------------------------------------------------------


@dataclass
class Mapping:
    """Where a saved basis's names land in a new model: ``index[i]`` = position of the new
    model's i-th name in the saved list, or -1 (new)."""

    col_index: np.ndarray
    row_index: np.ndarray
    dropped_cols: int
    dropped_rows: int

    def counts(self) -> dict[str, dict[str, int]]:
        cm = int((self.col_index >= 0).sum())
        rm = int((self.row_index >= 0).sum())
        return {
            "matched": {"columns": cm, "rows": rm},
            "new": {"columns": int(len(self.col_index) - cm), "rows": int(len(self.row_index) - rm)},
            "dropped": {"columns": int(self.dropped_cols), "rows": int(self.dropped_rows)},
        }


def _positions(new: Sequence[str], old: Sequence[str]) -> tuple[np.ndarray, int]:
    where = {name: i for i, name in enumerate(old)}
    if len(where) != len(old):
        raise BasisError("the saved basis names a column or row twice")
    idx = np.fromiter((where.get(name, -1) for name in new), dtype=np.int64, count=len(new))
    matched = int((idx >= 0).sum())
    return idx, len(old) - matched


def map_names(saved: SavedBasis, col_names: Sequence[str], row_names: Sequence[str]) -> Mapping:
    ci, dc = _positions(col_names, saved.col_names)
    ri, dr = _positions(row_names, saved.row_names)
    return Mapping(ci, ri, dc, dr)


def _at_bound(status: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Nonbasic statuses made consistent with the bounds: at a finite bound, or zero if free."""
    s = status.copy()
    lo_fin = lower > -INF
    up_fin = upper < INF
    basic = s == BASIC
    want_upper = (s == UPPER) & up_fin
    want_lower = (s == LOWER) & lo_fin
    rest = ~(basic | want_upper | want_lower)  # kZero, kNonbasic, or a bound now infinite
    s[rest & lo_fin] = LOWER
    s[rest & ~lo_fin & up_fin] = UPPER
    s[rest & ~lo_fin & ~up_fin] = ZERO
    return s


def warm_statuses(saved: SavedBasis, mapping: Mapping, col_lower, col_upper, row_lower, row_upper) -> tuple[np.ndarray, np.ndarray]:
    """Column and row statuses for the new model: saved statuses where names match, new columns
    nonbasic at a bound, new rows basic; every nonbasic status at a finite bound."""
    cols = np.full(len(mapping.col_index), LOWER, dtype=np.uint8)
    hit = mapping.col_index >= 0
    cols[hit] = saved.col_status[mapping.col_index[hit]]
    rows = np.full(len(mapping.row_index), BASIC, dtype=np.uint8)
    hit = mapping.row_index >= 0
    rows[hit] = saved.row_status[mapping.row_index[hit]]
    cols = _at_bound(cols, np.asarray(col_lower, dtype=float), np.asarray(col_upper, dtype=float))
    rows = _at_bound(rows, np.asarray(row_lower, dtype=float), np.asarray(row_upper, dtype=float))
    return cols, rows


def crash_new_rows(cols: np.ndarray, rows: np.ndarray, mapping: Mapping, col_start, row_index,
                   row_lower, row_upper, *, equality_only: bool = False) -> int:
    """A start for the part of the model the earlier basis does not know: each new row (in order)
    takes one new column of its own into the basis, in place of its slack (which goes nonbasic at a
    bound); rows with no free new column keep their slack basic. In place; returns the swaps made.

    Without it a new product or store starts with every new balance row's slack basic, that is
    primal infeasible wherever the row has a right-hand side (demand, opening stock), and every new
    column at zero: HiGHS then took more iterations than a cold solve. With it those took 2-6 % of
    the cold solve's iterations (docs/performance.md). Singular choices are harmless: HiGHS
    completes the (alien) basis with slacks."""
    new_rows = np.flatnonzero(mapping.row_index < 0)
    new_cols = mapping.col_index < 0
    if not len(new_rows) or not new_cols.any():
        return 0
    start = np.asarray(col_start, dtype=np.int64)
    index = np.asarray(row_index, dtype=np.int64)
    col_of = np.repeat(np.arange(len(cols)), np.diff(start))
    keep = new_cols[col_of]
    r_of, c_of = index[keep], col_of[keep]
    order = np.argsort(r_of, kind="stable")
    r_of, c_of = r_of[order], c_of[order]
    ptr = np.searchsorted(r_of, np.arange(len(rows) + 1))
    lower, upper = np.asarray(row_lower, dtype=float), np.asarray(row_upper, dtype=float)
    taken = np.zeros(len(cols), dtype=bool)
    swaps = 0
    for r in new_rows.tolist():
        if equality_only and lower[r] != upper[r]:
            continue
        for c in c_of[ptr[r]:ptr[r + 1]].tolist():
            if not taken[c]:
                taken[c] = True
                cols[c] = BASIC
                rows[r] = LOWER if lower[r] > -INF else UPPER
                swaps += 1
                break
    return swaps


def warm_solution(saved: SavedBasis, mapping: Mapping) -> tuple[np.ndarray, np.ndarray]:
    """(column positions, values) of the saved MIP solution's columns present in the new model."""
    hit = np.flatnonzero(mapping.col_index >= 0)
    return hit.astype(np.int32), np.asarray(saved.col_value, dtype=float)[mapping.col_index[hit]]
