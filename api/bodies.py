"""Strict JSON request bodies for the routes whose body FastAPI parses (every JSON route except
``/uploads`` and ``/submissions``, which read their own bodies).

Python's ``json`` accepts what JSON does not (``NaN``, ``Infinity``, ``-Infinity``; ``1e999``
becomes infinity), any nesting until the interpreter's recursion limit (then an error FastAPI
answers 400) and integers of thousands of digits (4300 and more: an error, 400). PostgreSQL
cannot store NUL characters in text. :class:`StrictJSONRoute` (the ``route_class`` of the
routers) parses bodies with :func:`strict_loads`, which refuses all of these, and turns a refusal
into the usual 422 naming the field: ``body.<path>``, e.g. ``body.content.demand.0.quantity.3``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted (a scenario needs 6)."""
MAX_INT_DIGITS = 30
"""Longest integer literal accepted, in digits (no quantity, amount or id comes close)."""


class StrictJSONError(json.JSONDecodeError):
    """A body that is JSON to Python but not acceptable input; ``loc`` is the path within the body."""

    def __init__(self, loc: tuple[str | int, ...], reason: str, kind: str, doc: str = "", pos: int = 0):
        super().__init__(reason, doc, pos)
        self.loc = loc
        self.reason = reason
        self.kind = kind


class _Bad:
    """Placeholder for a literal refused while parsing (the walk afterwards finds its path)."""

    def __init__(self, text: str, reason: str, kind: str):
        self.text, self.reason, self.kind = text, reason, kind


def _constant(name: str) -> _Bad:
    return _Bad(name, f"{name} is not a number JSON allows: send a finite number", "finite_number")


def _float(text: str) -> float | _Bad:
    value = float(text)
    if not math.isfinite(value):
        return _Bad(text, f"{text} is out of the range of a finite number", "finite_number")
    return value


def _int(text: str) -> int | _Bad:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Bad(text, f"integer of {len(text.lstrip('-'))} digits: at most {MAX_INT_DIGITS}", "int_too_long")
    return int(text)


def strict_loads(body: bytes | str) -> Any:
    """``json.loads`` refusing non-finite numbers, over-long integers, nesting deeper than
    :data:`MAX_DEPTH` and NUL characters in strings or keys (:class:`StrictJSONError`)."""
    try:
        data = json.loads(body, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except RecursionError:
        raise StrictJSONError((), f"nested deeper than {MAX_DEPTH} levels", "too_deep") from None
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        item, loc = stack.pop()
        if isinstance(item, _Bad):
            raise StrictJSONError(loc, item.reason, item.kind)
        if len(loc) > MAX_DEPTH:
            raise StrictJSONError(loc[:MAX_DEPTH], f"nested deeper than {MAX_DEPTH} levels", "too_deep")
        if isinstance(item, str):
            if "\x00" in item:
                raise StrictJSONError(loc, "contains a NUL character (\\u0000), which cannot be stored", "string_nul")
        elif isinstance(item, dict):
            for key, value in item.items():
                if "\x00" in key:
                    raise StrictJSONError(loc, f"key {key!r} contains a NUL character (\\u0000)", "string_nul")
                stack.append((value, (*loc, key)))
        elif isinstance(item, list):
            stack.extend((value, (*loc, i)) for i, value in enumerate(item))
    return data


class StrictJSONRequest(Request):
    """A request whose ``json()`` is :func:`strict_loads`."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """Route class of the API's routers: bodies parsed by :func:`strict_loads`; a refusal is a 422
    naming the field (reported after the caller's authentication, as every 422 is)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict_handler(request: Request) -> Response:
            try:
                return await handler(StrictJSONRequest(request.scope, request.receive))
            except RequestValidationError as exc:
                cause = exc.__cause__
                if isinstance(cause, StrictJSONError):
                    raise RequestValidationError([{"type": cause.kind, "loc": ("body", *cause.loc),
                                                   "msg": cause.reason, "input": None}]) from None
                raise

        return strict_handler
