"""The value-of-integration chart as SVG, written by code (no plotting library).

One panel: x = the credit limit as a share of the sequential plan's peak funding need, y = the
chain's profit after financing. Per series (a combination of the other axes: demand, buyer
terms, rate) a solid line for the joint plan and a dashed one for plan-then-fund; a point where
the sequential plan cannot be funded is a cross on the x axis ("not funded").
"""

from __future__ import annotations

import math
from html import escape
from typing import Any, Mapping, Sequence

COLOURS = ("#1f6fb4", "#e07b00", "#2e9e44", "#c0392b", "#7d4ea3", "#8c564b", "#d6589f", "#5a5a5a")
W, H = 760, 430
LEFT, RIGHT, TOP, BOTTOM = 86, 200, 46, 58


def _label(r: Mapping[str, Any]) -> str:
    parts = []
    if r.get("demand") not in (None, 1.0, 1):
        parts.append(f"demand x{r['demand']:g}")
    if r.get("buyer_terms") is not None:
        parts.append(f"terms {r['buyer_terms']:g}")
    if r.get("rate") is not None:
        parts.append(f"rate {r['rate'] * 100:g} %/yr")
    return ", ".join(parts) or "as in the scenario"


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    out, v = [], start
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def _money(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:,.2f}M"
    if a >= 1e4:
        return f"{v / 1e3:,.0f}k"
    return f"{v:,.0f}"


def study_svg(study: Mapping[str, Any], *, title: str | None = None) -> str:
    """The chart of :meth:`finance.integration_value.IntegrationStudy.to_dict`'s rows."""
    rows: Sequence[Mapping[str, Any]] = study.get("rows") or []
    series: dict[tuple, list[Mapping[str, Any]]] = {}
    for r in rows:
        series.setdefault((r.get("demand"), r.get("buyer_terms"), r.get("rate")), []).append(r)
    xs = [float(r["limit_share"]) for r in rows if r.get("limit_share") is not None]
    ys = [float(r[k]) for r in rows for k in ("joint_chain_profit", "sequential_chain_profit")
          if r.get(k) is not None]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x1 - x0 < 1e-9:
        x0, x1 = x0 - 0.5, x1 + 0.5
    y0, y1 = (min(ys), max(ys)) if ys else (0.0, 1.0)
    pad = (y1 - y0) * 0.08 or max(1.0, abs(y1) * 0.05)
    yt = _ticks(y0 - pad, y1 + pad)
    y0, y1 = yt[0], yt[-1]
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM

    def X(v: float) -> float:
        return LEFT + (v - x0) / (x1 - x0) * pw

    def Y(v: float) -> float:
        return TOP + (1 - (v - y0) / (y1 - y0)) * ph

    cur = study.get("currency") or ""
    head = title or f"Value of planning with finance: {study.get('scenario', '')}"
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
           'font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{LEFT}" y="24" font-size="15" font-weight="bold">{escape(head)}</text>']
    for v in yt:
        out.append(f'<line x1="{LEFT}" x2="{LEFT + pw}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#e4e4e4"/>')
        out.append(f'<text x="{LEFT - 6}" y="{Y(v) + 4:.1f}" text-anchor="end">{_money(v)}</text>')
    for v in sorted(set(xs)):
        out.append(f'<line x1="{X(v):.1f}" x2="{X(v):.1f}" y1="{TOP + ph}" y2="{TOP + ph + 4}" stroke="#333"/>')
        out.append(f'<text x="{X(v):.1f}" y="{TOP + ph + 18}" text-anchor="middle">{v * 100:g} %</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>')
    out.append(f'<text x="{LEFT + pw / 2}" y="{H - 14}" text-anchor="middle">credit limit, share of the sequential '
               'plan\'s peak funding need</text>')
    out.append(f'<text transform="translate(18 {TOP + ph / 2}) rotate(-90)" text-anchor="middle">chain profit after '
               f'financing{" (" + escape(cur) + ")" if cur else ""}</text>')
    ly = TOP + 6
    for k, (key, pts) in enumerate(series.items()):
        c = COLOURS[k % len(COLOURS)]
        pts = sorted((p for p in pts if p.get("limit_share") is not None), key=lambda p: p["limit_share"])
        for field, dash in (("joint_chain_profit", ""), ("sequential_chain_profit", ' stroke-dasharray="6 4"')):
            run: list[str] = []
            segments = []
            for p in pts:
                if p.get(field) is None:
                    if run:
                        segments.append(run)
                    run = []
                    continue
                run.append(f"{X(p['limit_share']):.1f},{Y(p[field]):.1f}")
            if run:
                segments.append(run)
            for seg in segments:
                out.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{c}" stroke-width="2.2"{dash}/>')
            for p in pts:
                if p.get(field) is not None:
                    fill = c if field == "joint_chain_profit" else "white"
                    out.append(f'<circle cx="{X(p["limit_share"]):.1f}" cy="{Y(p[field]):.1f}" r="3.5" fill="{fill}" '
                               f'stroke="{c}" stroke-width="1.5"/>')
        for p in pts:
            if not p.get("sequential_funded"):
                x, y = X(p["limit_share"]), TOP + ph - 8 - 6 * k
                out.append(f'<path d="M{x - 4:.1f},{y - 4:.1f} L{x + 4:.1f},{y + 4:.1f} M{x - 4:.1f},{y + 4:.1f} '
                           f'L{x + 4:.1f},{y - 4:.1f}" stroke="{c}" stroke-width="2"/>')
        lx = LEFT + pw + 14
        out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2.2"/>')
        out.append(f'<text x="{lx + 28}" y="{ly + 4}">joint: {escape(_label(pts[0] if pts else {}))}</text>')
        ly += 18
        out.append(f'<line x1="{lx}" x2="{lx + 22}" y1="{ly}" y2="{ly}" stroke="{c}" stroke-width="2.2" '
                   'stroke-dasharray="6 4"/>')
        out.append(f'<text x="{lx + 28}" y="{ly + 4}">plan, then fund</text>')
        ly += 24
    lx = LEFT + pw + 14
    out.append(f'<path d="M{lx + 7},{ly - 4} L{lx + 15},{ly + 4} M{lx + 7},{ly + 4} L{lx + 15},{ly - 4}" '
               'stroke="#333" stroke-width="2"/>')
    out.append(f'<text x="{lx + 28}" y="{ly + 4}">plan, then fund:</text>')
    out.append(f'<text x="{lx + 28}" y="{ly + 20}">cannot be funded</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
