"""The series id convention, in one place: a series' ``unique_id`` is its key values (e.g.
product, site) joined by ``/`` in key-column order; splitting it by ``/`` gives them back.

A key value may not contain ``/`` (``('a/b', 'c')`` and ``('a', 'b/c')`` would give the same id):
the service refuses such values on upload; files are taken as they are.

- :func:`series_id` / :func:`key_values`: one id from its values, and back.
- :func:`join_keys` / :func:`split_keys`: the same for a table (vectorised).
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

SEPARATOR = "/"


def series_id(values: Sequence[str]) -> str:
    """``values`` joined by ``/``: ``("widget", "store-north")`` -> ``"widget/store-north"``."""
    return SEPARATOR.join(values)


def key_values(unique_id: str) -> list[str]:
    """The key values of ``unique_id``: ``"widget/store-north"`` -> ``["widget", "store-north"]``."""
    return unique_id.split(SEPARATOR)


def join_keys(frame: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    """The ``unique_id`` of every row of ``frame``: its ``keys`` columns (text) joined by ``/``."""
    first, *rest = [frame[k] for k in keys]
    return first.str.cat(rest, sep=SEPARATOR) if rest else first


def split_keys(unique_ids: pd.Series, keys: Sequence[str]) -> pd.DataFrame:
    """One column per name of ``keys`` with the parts of each ``unique_id`` (same index).

    Raises ``ValueError`` naming the first id that does not have ``len(keys)`` parts."""
    parts = unique_ids.astype(str).str.split(SEPARATOR)
    bad = parts.str.len() != len(keys)
    if bad.any():
        example = unique_ids[bad].iloc[0]
        raise ValueError(f"unique_id {example!r} does not have {len(keys)} parts joined by {SEPARATOR!r} "
                         f"as keys {list(keys)} say")
    return pd.DataFrame({k: parts.str[i] for i, k in enumerate(keys)}, index=unique_ids.index)
