"""The base of the input models: field helpers, the strict base model and the problem record.

The lowest module of :mod:`scenarios`: :mod:`scenarios.finance` (the instruments and the finance
specification) and :mod:`scenarios.schema` (the scenario, which embeds the finance section) both
build on it, and every layer above reports input problems as :class:`Problem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Collection, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

Series = Union[float, list[float]]
"""A number constant over the horizon, or one number per period (length T)."""

ProductSeries = Union[float, list[float], dict[str, Union[float, list[float]]]]
"""The one type of every cost, price, penalty and capacity of a product quantity: a Series for
every product, or a mapping of product id to Series (see :func:`_product_field`)."""

PER_PRODUCT_KEY = "per_product"
"""JSON Schema key of a :data:`ProductSeries` field saying what a product map means: ``"price"``
(every product the field applies to must be named) or ``"limit"`` (one limit per named product;
a product not named is not limited by the field)."""

Identifier = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$"),
]


NUL_MESSAGE = "contains a NUL character (\\x00), which cannot be stored"


def find_nul(value: Any, path: str = "") -> str | None:
    """Where (``path``, ``[i]``/``.key`` appended) a string or key of ``value`` holds a NUL
    character, or None. Walks dicts and lists without recursion (any depth)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return where
        elif isinstance(item, dict):
            for k, v in item.items():
                sub = f"{where}.{k}" if where else str(k)
                if isinstance(k, str) and "\x00" in k:
                    return where or "(key)"
                stack.append((v, sub))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(item))
    return None


class StrictModel(BaseModel):
    """Base of the scenario and finance models: unknown fields refused, numbers finite (no NaN or
    infinity, from JSON, YAML or Python), strings without NUL characters (PostgreSQL cannot hold
    them), each refusal naming the field."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        where = find_nul(value)
        if where is not None:
            raise ValueError(NUL_MESSAGE + (f" (at {where})" if where else ""))
        return value


def _field(default: Any = ..., *, unit: str | None = None, description: str, **kwargs: Any) -> Any:
    """A pydantic Field whose description states the unit and whose schema carries it."""
    extra = dict(kwargs.pop("json_schema_extra", {}) or {})
    text = description
    if unit:
        extra["unit"] = unit
        text = f"{description} [{unit}]"
    return Field(default, description=text, json_schema_extra=extra or None, **kwargs)


def _product_field(default: Any = ..., *, per_product: str, unit: str, description: str, **kwargs: Any) -> Any:
    """A :data:`ProductSeries` field: ``per_product`` is ``"price"`` for a cost, price or penalty
    (a map names every product it applies to: a product left out would silently cost nothing) or
    ``"limit"`` for a capacity (a map is one limit per named product instead of one shared limit;
    a product not named has no limit from this field)."""
    if per_product not in ("price", "limit"):
        raise ValueError(f"per_product must be 'price' or 'limit', not {per_product!r}")
    extra = dict(kwargs.pop("json_schema_extra", {}) or {})
    extra[PER_PRODUCT_KEY] = per_product
    meaning = (
        "{product: value} must name every product it applies to"
        if per_product == "price"
        else "{product: value} is one limit per named product, in the field's unit, instead of the shared "
        "limit; a product not named is not limited here"
    )
    return _field(default, unit=unit, description=f"{description}. One number, T numbers, or per product: "
                  f"{meaning}", json_schema_extra=extra, **kwargs)


@dataclass(frozen=True)
class Problem:
    path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        return f"{self.severity}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message, "severity": self.severity}


VALUE_UNION_MEMBERS = frozenset({"float", "list[float]", "dict[str,union[float,list[float]]]"})
"""The names pydantic gives the members of a number-or-series union in an error's location."""


def problems_from_validation_error(exc: ValidationError, root: str, tags: Collection[str] = ()) -> list[Problem]:
    """Pydantic's errors as one problem per field path (``sites[0].production.capacity``; ``root``
    when the error is about the whole document). Location parts that name a union member are left
    out: pydantic's ``float`` / ``list[float]``, and the ``tags`` of a tagged union (the instrument
    types), whose unknown or missing tag is said in words. A number-or-series value that fits no
    member is reported where it goes wrong deepest (``cost.A[1]``), not also at the field."""
    skip = VALUE_UNION_MEMBERS | set(tags)
    seen: dict[str, Problem] = {}
    via_union: set[str] = set()
    for err in exc.errors():
        path = ""
        for part in err["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part not in skip:
                path += f".{part}" if path else str(part)
        if any(part in VALUE_UNION_MEMBERS for part in err["loc"]):
            via_union.add(path or root)
        path = path or root
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "union_tag_invalid":
            msg = f"unknown instrument type; use one of {', '.join(sorted(set(tags)))}"
        elif err["type"] == "union_tag_not_found":
            msg = "an instrument needs a 'type'"
        seen.setdefault(path, Problem(path, msg))
    # a value that fits no member of number / list / map: keep the deepest member's words only
    # (``cost.A[1]: not a number``, not also ``cost: not a number`` from the number member)
    deeper = {p for p in seen for q in seen if q != p and (q.startswith(p + ".") or q.startswith(p + "["))}
    return [prob for path, prob in seen.items() if not (path in via_union and path in deeper)]


def periods_per_year(freq: Any) -> int:
    """Periods in a year of a scenario's calendar: 52 weekly, 12 monthly (``freq`` the
    ``time.freq`` enum or its value)."""
    return 52 if getattr(freq, "value", freq) == "weekly" else 12


def product_fields(model: type[BaseModel]) -> dict[str, str]:
    """The :data:`ProductSeries` fields of one model class: name -> ``"price"`` or ``"limit"``
    (read from the field's JSON Schema extra, so a new field declared with
    :func:`_product_field` is found without being listed anywhere)."""
    out = {}
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra
        if isinstance(extra, dict) and PER_PRODUCT_KEY in extra:
            out[name] = extra[PER_PRODUCT_KEY]
    return out


def _model_classes(annotation: Any) -> list[type[BaseModel]]:
    """The model classes an annotation can hold (``X``, ``list[X]``, ``X | None`` ...)."""
    out, todo = [], [annotation]
    while todo:
        t = todo.pop()
        if isinstance(t, type) and issubclass(t, BaseModel):
            out.append(t)
        else:
            todo.extend(get_args(t))
    return out


@lru_cache(maxsize=None)
def _reaches_product_field(cls: type[BaseModel]) -> bool:
    return bool(product_fields(cls)) or any(_reaches_product_field(c) for c in _descend_into(cls).values())


@lru_cache(maxsize=None)
def _descend_into(cls: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """The fields of ``cls`` holding models, by name (one model class each in this schema)."""
    out = {}
    for name, info in cls.model_fields.items():
        classes = _model_classes(info.annotation)
        if classes:
            out[name] = classes[0]
    return out


def walk_models(root: BaseModel, path: str = "") -> list[tuple[str, BaseModel, tuple[BaseModel, ...]]]:
    """Every model inside ``root`` that has or holds a :data:`ProductSeries` field (``root``
    first), as ``(path, model, ancestors)``: the path in the problem style
    ``sites[0].production``, the ancestors outermost first. Fields whose class cannot lead to a
    product field (demand rows, instruments ...) are not entered."""
    out: list[tuple[str, BaseModel, tuple[BaseModel, ...]]] = []
    stack: list[tuple[str, BaseModel, tuple[BaseModel, ...]]] = [(path, root, ())]
    while stack:
        where, model, up = stack.pop()
        out.append((where, model, up))
        children = []
        for name, cls in _descend_into(type(model)).items():
            if not _reaches_product_field(cls):
                continue
            value = getattr(model, name)
            sub = f"{where}.{name}" if where else name
            if isinstance(value, BaseModel):
                children.append((sub, value, (*up, model)))
            elif isinstance(value, list):
                children += [(f"{sub}[{i}]", v, (*up, model)) for i, v in enumerate(value) if isinstance(v, BaseModel)]
        stack.extend(reversed(children))
    return out
