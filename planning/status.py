"""Solve statuses: ``optimal``, ``feasible`` (a time or gap limit stopped HiGHS with a solution in
hand), ``infeasible``, ``unbounded``, ``time_limit`` (stopped without one) and ``error``.
A plan's numbers can be read only after the first two."""

from __future__ import annotations

SOLVED = frozenset({"optimal", "feasible"})


def has_solution(status: str | None) -> bool:
    """Whether a solve with this status left a solution to read (``optimal`` or ``feasible``)."""
    return status in SOLVED
