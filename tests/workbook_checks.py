"""Reading the plan workbook (planning/workbook.py) back with openpyxl: its measure tables, its
charts and the cells their series point at, and a table sheet against the plan JSON's rows."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

import pytest
from openpyxl.utils import column_index_from_string, range_boundaries

REF = re.compile(r"^'?(?P<sheet>.+?)'?!(?P<range>\$?[A-Z]+\$?\d+(:\$?[A-Z]+\$?\d+)?)$")


def measure_table(ws, header: str = "Measure") -> dict[str, dict[str, Any]]:
    """{row label: {column title: cell}} of the sheet's table headed ``header`` in column A."""
    top = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == header)
    titles = {}
    for c in range(2, ws.max_column + 1):
        if ws.cell(top, c).value is None:
            break
        titles[c] = ws.cell(top, c).value
    out: dict[str, dict[str, Any]] = {}
    r = top + 1
    # rows until one without a label or without any value (the note under the table)
    while ws.cell(r, 1).value is not None and any(ws.cell(r, c).value is not None for c in titles):
        out[ws.cell(r, 1).value] = {t: ws.cell(r, c) for c, t in titles.items()}
        r += 1
    return out


def header_row(ws, first: str) -> int:
    return next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == first)


def ref_cells(wb, ref: str) -> list:
    """The cells a chart reference such as ``'Chart data'!$B$3:$B$14`` points at."""
    m = REF.match(ref)
    assert m, ref
    ws = wb[m["sheet"]]
    min_col, min_row, max_col, max_row = range_boundaries(m["range"].replace("$", ""))
    return [ws.cell(r, c) for r in range(min_row, max_row + 1) for c in range(min_col, max_col + 1)]


def ref_values(wb, ref: str) -> list:
    return [c.value for c in ref_cells(wb, ref)]


def chart_title(chart) -> str:
    return "".join(run.t for p in chart.title.tx.rich.p for run in (p.r or []))


def chart_series(chart) -> list[tuple[str, Any, Any]]:
    """(kind, series, chart part) for every series of a (combined) chart: kind is bar or line."""
    out = []
    for part in getattr(chart, "_charts", None) or [chart]:
        kind = type(part).__name__.replace("Chart", "").lower()
        for s in part.series:
            out.append((kind, s, part))
    return out


def series_title(wb, s) -> str:
    return ref_values(wb, s.tx.strRef.f)[0]


def series_values(wb, s) -> list:
    return ref_values(wb, s.val.numRef.f)


def series_categories(wb, s) -> list:
    ref = s.cat.numRef.f if s.cat.numRef is not None else s.cat.strRef.f
    return ref_values(wb, ref)


def as_date(v: Any) -> Any:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", v):
        return dt.date.fromisoformat(v)
    return v


def same(cell_value: Any, json_value: Any) -> bool:
    """A cell holds the JSON value: numbers to 1e-9 relative, NaN/None as blank, dates as dates."""
    if json_value is None or (isinstance(json_value, float) and not math.isfinite(json_value)):
        return cell_value is None
    if isinstance(json_value, (bool, str, dt.date)):
        return as_date(cell_value) == as_date(json_value)
    if isinstance(json_value, (int, float)):
        return isinstance(cell_value, (int, float)) and cell_value == pytest.approx(json_value, rel=1e-9, abs=1e-9)
    return cell_value == json_value


def check_table_sheet(ws, rows: list[dict[str, Any]], dates: dict[int, dt.date] | None = None) -> None:
    """Every cell of a table sheet equals the JSON rows (same column order; a ``date`` column the
    workbook added after ``period`` holds that period's start date)."""
    assert ws.max_row == len(rows) + 1, (ws.title, ws.max_row, len(rows))
    cols = list(rows[0])
    if "period" in cols and "date" not in cols and dates:
        cols.insert(cols.index("period") + 1, "date")
        rows = [{**r, "date": dates[r["period"]]} for r in rows]
    assert ws.max_column == len(cols), (ws.title, ws.max_column, cols)
    for i, r in enumerate(rows, start=2):
        for j, c in enumerate(cols, start=1):
            v = ws.cell(i, j).value
            assert same(v, r.get(c)), (ws.title, i, c, v, r.get(c))


def column_of(ws, header_prefix: str) -> int:
    """The column whose header starts with ``header_prefix``."""
    for c in range(1, ws.max_column + 1):
        if str(ws.cell(1, c).value or "").startswith(header_prefix):
            return c
    raise AssertionError(f"{ws.title}: no column {header_prefix!r}")


def col_letter_index(ref: str) -> int:
    m = REF.match(ref)
    return column_index_from_string(re.match(r"\$?([A-Z]+)", m["range"]).group(1))
