"""Store -> DC -> plant hierarchy: demand forecasts that add up at every level.

Upstream partners plan on aggregated demand, so the forecast for a DC must equal the sum of the
forecasts of the stores it supplies, and a plant's the sum of its DCs'. This module

1. derives the supply tree from a scenario (:meth:`SiteHierarchy.from_scenario`) or takes an
   explicit mapping (:meth:`SiteHierarchy.from_mapping`);
2. builds the summing matrix ``S`` (:func:`summing_matrix`): one row per node, one column per
   bottom series, ``y_nodes = S @ y_bottom``. Nodes, per product: ``total`` (every demand site),
   each plant, each DC, each demand site (bottom level, usually stores);
3. aggregates history to every node (:func:`aggregate_history`) so upper levels can be
   forecast independently;
4. reconciles base forecasts (:func:`reconcile_forecasts`):

   - bottom-up: ``y~ = S b^`` (only bottom base forecasts exist);
   - MinT (Wickramasuriya, Athanasopoulos & Hyndman 2019), the default when upper-level base
     forecasts are given: ``y~ = S (S' W^-1 S)^-1 S' W^-1 y^`` with ``W = diag(S 1)``
     (``wls_struct``: each node's error variance proportional to the number of bottom series
     under it) or ``W = I`` (``ols``). Computed by Nixtla's ``hierarchicalforecast``
     (``MinTrace``) on the rows of ``S`` that have a base forecast.

Node ids: ``"{product}"`` for the product total, ``"{product}/{site}"`` for every site node.

Non-negativity: reconciled bottom P50s are clipped at 0 and every aggregate is re-computed
bottom-up (``S @ max(b~, 0)``), so the result stays exactly coherent (clipping can only raise
the totals, by at most the clipped amount).

Quantiles: P10/P90 are not reconciled by MinT. Each bottom series keeps its base half-widths
``lo = p50^ - p10^`` and ``hi = p90^ - p50^`` around its reconciled P50. An aggregate's
half-width combines its children's, weighted by ``S``:

- ``independent`` (default): ``lo_j = sqrt(sum_i (S_ji lo_i)^2)``, the normal approximation with
  independent errors (risk pooling: the square-root law). A lower bound on the spread when store
  errors are positively correlated.
- ``comonotonic``: ``lo_j = sum_i S_ji lo_i``, perfectly correlated errors; the sum of
  quantiles, an upper bound (no pooling).

``p10 = max(p50 - lo, 0)``, ``p90 = p50 + hi``.

Several supply sources: a site fed by more than one lane gets, by default, the origin of the
first lane listed in the scenario that carries the product (among origins of the most upstream
kind: plant before DC before store) and the choice is noted; with ``multi_source="split"`` it
is shared between all origins in proportion to the lanes' mean capacity (equal shares when a
lane has no capacity), which makes ``S`` fractional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from .keys import series_id, split_keys

LEVELS = ("total", "plant", "dc", "store")
_KIND_RANK = {"plant": 0, "dc": 1, "store": 2}
OUTPUT_COLUMNS = ["level", "unique_id", "product", "site", "ds", "p10", "p50", "p90", "bottom", "reconciliation"]


class HierarchyError(ValueError):
    """A hierarchy or forecast table that cannot be reconciled; the message names the cause."""


# ---------------------------------------------------------------------------------------------
# The supply tree
# ---------------------------------------------------------------------------------------------


@dataclass
class SiteHierarchy:
    """Who supplies whom: for each site (optionally per product) its parent site(s) and share.

    ``parents[site] = {parent: share}`` applies to every product; ``product_parents[(site,
    product)]`` overrides it for one product. Shares of one site's parents sum to 1.
    ``kinds[site]`` is the level name of a site node (plant, dc, store).
    """

    parents: dict[str, dict[str, float]] = field(default_factory=dict)
    product_parents: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_mapping(
        cls, mapping: dict[str, str | dict[str, float]], *, kinds: dict[str, str] | None = None
    ) -> "SiteHierarchy":
        """From ``{site: parent}`` or ``{site: {parent: share}}``, e.g. ``{"s1": "dc", "dc": "plant"}``.

        Without ``kinds``, sites without a parent are plants, sites with a parent and children
        DCs, the rest stores.
        """
        parents: dict[str, dict[str, float]] = {}
        for site, parent in mapping.items():
            shares = {parent: 1.0} if isinstance(parent, str) else dict(parent)
            total = sum(shares.values())
            if not shares or total <= 0 or any(v < 0 for v in shares.values()):
                raise HierarchyError(f"mapping[{site!r}]: parent shares must be positive, got {shares}")
            parents[site] = {p: v / total for p, v in shares.items()}
        if kinds is None:
            children = {p for shares in parents.values() for p in shares}
            kinds = {}
            for site in set(parents) | children:
                if site not in parents:
                    kinds[site] = "plant"
                elif site in children:
                    kinds[site] = "dc"
                else:
                    kinds[site] = "store"
        h = cls(parents=parents, kinds=dict(kinds))
        h._check_acyclic()
        return h

    @classmethod
    def from_scenario(cls, scenario, *, multi_source: Literal["first", "split"] = "first") -> "SiteHierarchy":
        """The supply tree of a scenario: each site's parent is the origin of its inbound lane.

        Per product, only lanes that carry the product count. With several inbound lanes the
        origins of the most upstream kind are kept; ``first`` takes the first such lane listed,
        ``split`` shares between them by mean lane capacity (equal when any is unlimited).
        """
        if multi_source not in ("first", "split"):
            raise HierarchyError(f"multi_source must be 'first' or 'split', got {multi_source!r}")
        kinds = {s.id: s.kind.value for s in scenario.sites}
        products = [p.id for p in scenario.products]
        h = cls(kinds=kinds)
        for site in scenario.sites:
            for product in products:
                inbound = [
                    lane
                    for lane in scenario.lanes
                    if lane.destination == site.id
                    and lane.origin in kinds
                    and (lane.products is None or product in lane.products)
                ]
                if not inbound:
                    continue
                best = min(_KIND_RANK.get(kinds[lane.origin], 9) for lane in inbound)
                inbound = [lane for lane in inbound if _KIND_RANK.get(kinds[lane.origin], 9) == best]
                origins = list(dict.fromkeys(lane.origin for lane in inbound))
                if len(origins) == 1 or multi_source == "first":
                    shares = {origins[0]: 1.0}
                    if len(origins) > 1:
                        h.notes.append(
                            f"{site.id}/{product}: supplied by {', '.join(origins)}; "
                            f"aggregated under {origins[0]} (first lane, lane '{inbound[0].id}')"
                        )
                else:
                    caps = {o: _mean_capacity([lane for lane in inbound if lane.origin == o], product) for o in origins}
                    if any(c is None for c in caps.values()):
                        shares = {o: 1.0 / len(origins) for o in origins}
                        how = "equal shares (a lane has no capacity limit)"
                    else:
                        total = sum(caps.values())
                        shares = {o: c / total for o, c in caps.items()} if total > 0 else {o: 1.0 / len(origins) for o in origins}
                        how = "shares by mean lane capacity"
                    h.notes.append(
                        f"{site.id}/{product}: split between "
                        + ", ".join(f"{o} {v:.3f}" for o, v in shares.items())
                        + f" ({how})"
                    )
                h.product_parents[(site.id, product)] = shares
        h._check_acyclic()
        return h

    def parents_of(self, site: str, product: str) -> dict[str, float]:
        """``{parent: share}`` of one site for one product (empty for a root)."""
        if (site, product) in self.product_parents:
            return self.product_parents[(site, product)]
        return self.parents.get(site, {})

    def ancestor_weights(self, site: str, product: str) -> dict[str, float]:
        """Share of this site's demand that passes each ancestor: sum over supply paths of the
        product of the shares along the path."""
        weights: dict[str, float] = {}

        def walk(node: str, weight: float, path: tuple[str, ...]) -> None:
            for parent, share in self.parents_of(node, product).items():
                if parent in path:
                    raise HierarchyError(f"supply cycle for product {product!r}: {' -> '.join((*path, parent))}")
                weights[parent] = weights.get(parent, 0.0) + weight * share
                walk(parent, weight * share, (*path, parent))

        walk(site, 1.0, (site,))
        return weights

    def level_of(self, site: str, *, bottom: bool) -> str:
        if site in self.kinds:
            return self.kinds[site]
        return "store" if bottom else "dc"

    def _check_acyclic(self) -> None:
        sites = set(self.parents) | {s for s, _ in self.product_parents}
        products = {p for _, p in self.product_parents} or {""}
        for site in sites:
            for product in products:
                self.ancestor_weights(site, product)


def _mean_capacity(lanes, product: str) -> float | None:
    """Sum over the lanes of each one's mean capacity for ``product`` (its own limit where the
    capacity is per product); None when one of them does not limit the product."""
    total = 0.0
    for lane in lanes:
        cap = lane.capacity
        if isinstance(cap, dict):
            cap = cap.get(product)
        if cap is None:
            return None
        values = cap if isinstance(cap, list) else [cap]
        total += float(np.mean(values))
    return total


# ---------------------------------------------------------------------------------------------
# Keys and the summing matrix
# ---------------------------------------------------------------------------------------------


def with_product_site(df: pd.DataFrame, keys: Sequence[str] = ("product", "site")) -> pd.DataFrame:
    """Return ``df`` with ``product`` and ``site`` columns: kept when present, else parsed from
    ``unique_id`` whose parts, joined by ``/``, are named by ``keys`` (e.g. ``("product", "site")``).
    """
    if {"product", "site"} <= set(df.columns):
        out = df.copy()
        out["product"] = out["product"].astype(str)
        out["site"] = out["site"].astype(str)
        return out
    if "unique_id" not in df.columns:
        raise HierarchyError("forecast needs 'product' and 'site' columns or a 'unique_id' column")
    keys = list(keys)
    if "product" not in keys or "site" not in keys:
        raise HierarchyError(f"keys must name 'product' and 'site', got {keys}")
    try:
        parts = split_keys(df["unique_id"], keys)
    except ValueError as exc:
        raise HierarchyError(str(exc)) from None
    out = df.copy()
    for key in keys:
        out[key] = parts[key].to_numpy()
    return out


def node_id(product: str, site: str | None) -> str:
    """``"{product}"`` for the product total, ``"{product}/{site}"`` for a site node."""
    return product if site is None else series_id([product, site])


def summing_matrix(
    bottom: Sequence[tuple[str, str]], hierarchy: SiteHierarchy
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Summing matrix for bottom series ``(product, site)``.

    Returns ``(S, nodes)``: ``S`` has one row per node and one column per bottom series
    (both indexed by node id; aggregates first, then the bottom identity block), ``nodes`` has
    ``unique_id, level, product, site, bottom``. Row of an aggregate ``a``: the share of each
    bottom series' demand that passes ``a``.
    """
    bottom = sorted(dict.fromkeys((str(p), str(s)) for p, s in bottom))
    if not bottom:
        raise HierarchyError("no bottom series to aggregate")
    bottom_ids = [node_id(p, s) for p, s in bottom]
    bottom_sites = {(p, s) for p, s in bottom}
    rows: dict[str, dict[str, float]] = {}
    meta: dict[str, tuple[str, str, str | None]] = {}
    for (product, site), bid in zip(bottom, bottom_ids):
        total = node_id(product, None)
        rows.setdefault(total, {})[bid] = 1.0
        meta[total] = ("total", product, None)
        for ancestor, weight in hierarchy.ancestor_weights(site, product).items():
            if (product, ancestor) in bottom_sites:
                raise HierarchyError(
                    f"site {ancestor!r} has its own demand for {product!r} and also supplies {site!r}; "
                    "a demand site cannot also be an aggregate node (pass an explicit mapping)"
                )
            aid = node_id(product, ancestor)
            rows.setdefault(aid, {})[bid] = rows.get(aid, {}).get(bid, 0.0) + weight
            meta[aid] = (hierarchy.level_of(ancestor, bottom=False), product, ancestor)
    order = {lvl: i for i, lvl in enumerate(LEVELS)}
    agg_ids = sorted(rows, key=lambda u: (order.get(meta[u][0], 2), meta[u][1], meta[u][2] or ""))
    S_agg = pd.DataFrame(
        [[rows[a].get(b, 0.0) for b in bottom_ids] for a in agg_ids], index=agg_ids, columns=bottom_ids
    )
    S = pd.concat([S_agg, pd.DataFrame(np.eye(len(bottom_ids)), index=bottom_ids, columns=bottom_ids)])
    S.index.name = "unique_id"
    nodes = pd.DataFrame(
        [(a, *meta[a], False) for a in agg_ids]
        + [(b, hierarchy.level_of(s, bottom=True), p, s, True) for (p, s), b in zip(bottom, bottom_ids)],
        columns=["unique_id", "level", "product", "site", "bottom"],
    )
    return S, nodes


def tags_of(nodes: pd.DataFrame) -> dict[str, np.ndarray]:
    """Level name -> node ids, the ``tags`` of hierarchicalforecast."""
    return {lvl: g["unique_id"].to_numpy() for lvl, g in nodes.groupby("level", sort=False)}


# ---------------------------------------------------------------------------------------------
# History at every level
# ---------------------------------------------------------------------------------------------


def aggregate_history(
    history: pd.DataFrame, hierarchy: SiteHierarchy, *, keys: Sequence[str] = ("product", "site")
) -> pd.DataFrame:
    """History of every node: ``y_nodes(t) = S @ y_bottom(t)``; a bottom series without an
    observation at ``t`` (before it starts) counts as 0. Returns ``unique_id, level, product,
    site, ds, y`` so each level can be forecast on its own."""
    df = with_product_site(history, keys)
    for col in ("ds", "y"):
        if col not in df.columns:
            raise HierarchyError(f"history needs a {col!r} column")
    df["bid"] = [node_id(p, s) for p, s in zip(df["product"], df["site"])]
    if df.duplicated(["bid", "ds"]).any():
        raise HierarchyError("history has more than one row for a (product, site, ds); aggregate other keys first")
    S, nodes = summing_matrix(list(zip(df["product"], df["site"])), hierarchy)
    Y = df.pivot(index="bid", columns="ds", values="y").reindex(S.columns).fillna(0.0)
    agg = pd.DataFrame(S.to_numpy() @ Y.to_numpy(), index=S.index, columns=Y.columns)
    long = agg.rename_axis(columns="ds").stack().rename("y").reset_index()
    out = nodes.drop(columns="bottom").merge(long, on="unique_id")
    return out[["unique_id", "level", "product", "site", "ds", "y"]]


# ---------------------------------------------------------------------------------------------
# Reconciliation
# ---------------------------------------------------------------------------------------------


class ReconciliationConfig(BaseModel):
    """How base forecasts are made coherent."""

    model_config = ConfigDict(extra="forbid")
    method: Literal["auto", "bottom_up", "mint_wls_struct", "mint_ols"] = Field(
        "auto",
        description=(
            "auto: MinT wls_struct when upper-level base forecasts are given, else bottom-up. "
            "bottom_up ignores upper-level forecasts"
        ),
    )
    intervals: Literal["independent", "comonotonic"] = Field(
        "independent",
        description="How children's P10/P90 half-widths combine into an aggregate's [units]",
    )


@dataclass
class ReconciledForecast:
    """Coherent forecast at every level: ``table`` has :data:`OUTPUT_COLUMNS`; ``S`` and
    ``nodes`` describe the hierarchy; ``notes`` say what was chosen."""

    table: pd.DataFrame
    S: pd.DataFrame
    nodes: pd.DataFrame
    method: str
    notes: list[str] = field(default_factory=list)


def _base_matrix(df: pd.DataFrame, ids: list[str], dates: pd.DatetimeIndex, column: str, what: str) -> np.ndarray:
    wide = df.pivot(index="nid", columns="ds", values=column).reindex(index=ids, columns=dates)
    if wide.isna().any().any():
        uid = wide.index[wide.isna().any(axis=1)][0]
        missing = [d.date().isoformat() for d in wide.columns[wide.loc[uid].isna()]][:3]
        raise HierarchyError(f"{what} {uid!r} has no {column} for {', '.join(missing)}")
    return wide.to_numpy(dtype=float)


def reconcile_forecasts(
    bottom: pd.DataFrame,
    hierarchy: SiteHierarchy,
    *,
    upper: pd.DataFrame | None = None,
    keys: Sequence[str] = ("product", "site"),
    config: ReconciliationConfig | None = None,
) -> ReconciledForecast:
    """Reconcile forecasts so every level adds up.

    ``bottom``: one series per demand (product, site) with ``ds``, ``p50`` and optionally
    ``p10``/``p90``; product and site from columns or ``unique_id`` (see :func:`with_product_site`).
    ``upper``: optional base forecasts of aggregate nodes, ``unique_id`` as in
    :func:`summing_matrix` (``product`` or ``product/site``), ``ds``, ``p50``; every period
    of ``bottom`` must be covered. MinT uses only the nodes given.
    """
    config = config or ReconciliationConfig()
    df = with_product_site(bottom, keys)
    if "ds" not in df.columns and "date" in df.columns:
        df = df.rename(columns={"date": "ds"})
    for col in ("ds", "p50"):
        if col not in df.columns:
            raise HierarchyError(f"bottom forecast needs a {col!r} column")
    df["ds"] = pd.to_datetime(df["ds"])
    df["nid"] = [node_id(p, s) for p, s in zip(df["product"], df["site"])]
    dup = df.duplicated(["nid", "ds"])
    if dup.any():
        raise HierarchyError(
            f"bottom forecast has more than one row for {df.loc[dup, 'nid'].iloc[0]!r} at "
            f"{df.loc[dup, 'ds'].iloc[0].date()}; one row per (product, site, ds)"
        )
    if (df["p50"] < 0).any() or df["p50"].isna().any():
        raise HierarchyError("bottom forecast p50 must be non-negative numbers")
    S, nodes = summing_matrix(list(zip(df["product"], df["site"])), hierarchy)
    bottom_ids = list(S.columns)
    dates = pd.DatetimeIndex(sorted(df["ds"].unique()))
    B = _base_matrix(df, bottom_ids, dates, "p50", "bottom series")  # (n_bottom, h)
    has_q = {"p10", "p90"} <= set(df.columns)
    if has_q:
        lo = np.clip(B - _base_matrix(df, bottom_ids, dates, "p10", "bottom series"), 0.0, None)
        hi = np.clip(_base_matrix(df, bottom_ids, dates, "p90", "bottom series") - B, 0.0, None)

    upper_ids: list[str] = []
    if upper is not None and len(upper):
        up = upper.rename(columns={"date": "ds"}) if "ds" not in upper.columns else upper
        for col in ("unique_id", "ds", "p50"):
            if col not in up.columns:
                raise HierarchyError(f"upper forecast needs a {col!r} column")
        up = up.assign(nid=up["unique_id"].astype(str), ds=pd.to_datetime(up["ds"]))
        agg_ids = [u for u in S.index if u not in set(bottom_ids)]
        unknown = sorted(set(up["nid"]) - set(agg_ids))
        if unknown:
            raise HierarchyError(
                f"upper forecast has series that are not aggregate nodes of this hierarchy: {unknown[:5]}"
                f" (aggregate nodes: {agg_ids[:8]})"
            )
        upper_ids = [u for u in agg_ids if u in set(up["nid"])]
        U = _base_matrix(up[up["ds"].isin(dates)], upper_ids, dates, "p50", "upper series")

    method = config.method
    if method == "auto":
        method = "mint_wls_struct" if upper_ids else "bottom_up"
    notes = list(hierarchy.notes)
    if method.startswith("mint") and not upper_ids:
        notes.append(f"{method}: no upper-level base forecasts, so MinT equals bottom-up")
        method = "bottom_up"
    if method == "bottom_up":
        if upper_ids:
            notes.append("bottom_up: upper-level base forecasts ignored")
        b_tilde = B
    else:
        b_tilde = _mint(S.loc[upper_ids + bottom_ids], np.vstack([U, B]), dates, nodes, method)

    negative = b_tilde < 0
    if negative.any():
        notes.append(f"non-negativity: {int(negative.sum())} reconciled bottom value(s) below 0 clipped, aggregates re-summed")
    b_tilde = np.clip(b_tilde, 0.0, None)
    S_np = S.to_numpy()
    P50 = S_np @ b_tilde
    n_agg = len(S) - len(bottom_ids)
    if has_q:
        if config.intervals == "independent":
            LO = np.vstack([np.sqrt((S_np[:n_agg] ** 2) @ lo**2), lo])
            HI = np.vstack([np.sqrt((S_np[:n_agg] ** 2) @ hi**2), hi])
        else:
            LO, HI = S_np @ lo, S_np @ hi
        P10, P90 = np.clip(P50 - LO, 0.0, None), P50 + HI
    else:
        P10 = P90 = np.full_like(P50, np.nan)

    h = len(dates)
    table = pd.DataFrame(
        {
            "unique_id": np.repeat(S.index.to_numpy(), h),
            "ds": np.tile(dates.to_numpy(), len(S)),
            "p10": P10.ravel(),
            "p50": P50.ravel(),
            "p90": P90.ravel(),
        }
    ).merge(nodes, on="unique_id", how="left")
    table["reconciliation"] = method
    return ReconciledForecast(table=table[OUTPUT_COLUMNS], S=S, nodes=nodes, method=method, notes=notes)


def _mint(S_sub: pd.DataFrame, Y: np.ndarray, dates: pd.DatetimeIndex, nodes: pd.DataFrame, method: str) -> np.ndarray:
    """MinT with hierarchicalforecast on the nodes that have base forecasts; returns bottom P50s."""
    from hierarchicalforecast.core import HierarchicalReconciliation
    from hierarchicalforecast.methods import MinTrace

    ids = list(S_sub.index)
    y_hat = pd.DataFrame({"unique_id": np.repeat(ids, len(dates)), "ds": np.tile(dates.to_numpy(), len(ids)), "p50": Y.ravel()})
    S_df = S_sub.reset_index()
    sub_nodes = nodes[nodes["unique_id"].isin(ids)]
    mint = MinTrace(method=method.removeprefix("mint_"))
    out = HierarchicalReconciliation([mint]).reconcile(Y_hat_df=y_hat, S_df=S_df, tags=tags_of(sub_nodes))
    col = [c for c in out.columns if c.startswith("p50/MinTrace")]
    if len(col) != 1:
        raise RuntimeError(f"unexpected hierarchicalforecast output columns {list(out.columns)}")
    wide = out.pivot(index="unique_id", columns="ds", values=col[0]).reindex(index=list(S_sub.columns), columns=dates)
    return wide.to_numpy(dtype=float)


def coherence_residual(table: pd.DataFrame, S: pd.DataFrame, column: str = "p50") -> float:
    """Largest ``|y_node - S_node @ y_bottom|`` over nodes and periods: 0 when every aggregate
    equals the (share-weighted) sum of the bottom series below it, hence of its children."""
    wide = table.pivot(index="unique_id", columns="ds", values=column)
    missing = sorted(set(S.index) - set(wide.index))
    if missing:
        raise HierarchyError(f"table has no rows for nodes {missing[:5]}")
    Y = wide.reindex(S.index).to_numpy(dtype=float)
    bottom = wide.reindex(S.columns).to_numpy(dtype=float)
    return float(np.max(np.abs(Y - S.to_numpy() @ bottom))) if Y.size else 0.0
