"""ConfigError, and pydantic's validation errors rewritten as plain words with their key paths.

Every problem in a config or watch file becomes one line `feeds[3].url: not an http(s) URL`:
the path as the file spells it, then what is wrong. Values are quoted only for numbers, never
for strings, so a secret pasted into the wrong key does not end up in a terminal or a log.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

PLAIN = "plain"  # the error type of our own validators: ctx["text"] is the whole message
HIDDEN = "<terms>"  # a path segment that is not a key in the file (language terms gathered by watch.py)
LANG_HINT = " or a language code (en, ko, ru …)"

_KINDS = {"string_type": "a string", "int_type": "an integer", "float_type": "a number",
          "bool_type": "true or false", "list_type": "an array", "dict_type": "a table",
          "model_type": "a table", "model_attributes_type": "a table"}  # fmt: skip
_GOT = {str: "a string", int: "an integer", float: "a number", bool: "true or false", list: "an array",
        dict: "a table"}  # fmt: skip


class ConfigError(Exception):
    """Raised with every problem found, one per line, each prefixed by its key path."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def problem(text: str, key: str = "") -> PydanticCustomError:
    """An error our validators raise: `text` is shown as is; `key` names a sub-key it is about
    (a model-level check that concerns one field)."""
    return PydanticCustomError(PLAIN, "{text}", {"text": text, "key": key})


def number(x: float) -> str:
    """1e9 as 1000000000, 2.5 as 2.5, 1e30 as 1e+30: how a person would write it in the file."""
    return str(int(x)) if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def key_path(where: str, loc: Iterable[int | str]) -> str:
    out = where
    for part in loc:
        if part in (HIDDEN, "[key]"):
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def plain_errors(exc: ValidationError, root: type[BaseModel], where: str = "") -> list[str]:
    """Each of pydantic's errors as `key.path: plain words`."""
    out: list[str] = []
    for e in exc.errors():
        loc = tuple(e["loc"])
        ctx = e.get("ctx") or {}
        if e["type"] == PLAIN and ctx.get("key"):
            loc = (*loc, ctx["key"])
        out.append(f"{key_path(where, loc)}: {_words(e, root)}")
    return out


def _words(e: ErrorDetails, root: type[BaseModel]) -> str:
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    loc = tuple(e["loc"])
    if kind == PLAIN:
        return str(ctx["text"])
    if kind == "value_error":
        return str(ctx.get("error", e["msg"]))
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        model = model_at(root, loc[:-1])
        allowed = ", ".join(sorted(n for n in (model.model_fields if model else {}) if n != "terms")) or "none"
        hint = LANG_HINT if model is not None and getattr(model, "LANGUAGE_KEYS", False) else ""
        return f"unknown key (allowed: {allowed}{hint})"
    if kind == "list_type" and _is_model_list(root, loc):
        return f"must be an array of tables ([[{loc[-1]}]])" if len(loc) == 1 else "must be an array of tables"
    if kind in ("model_type", "model_attributes_type") and len(loc) == 1:
        return f"must be a table ([{loc[0]}])"
    if kind in _KINDS:
        return f"must be {_KINDS[kind]}, got {_GOT.get(type(value), type(value).__name__)}"
    if kind == "finite_number":
        return f"must be a finite number, got {value}"
    if kind in ("greater_than", "greater_than_equal", "less_than_equal", "less_than"):
        bound = number(next(iter(ctx.values())))
        said = {"greater_than": f"greater than {bound}", "greater_than_equal": f"at least {bound}",
                "less_than": f"less than {bound}", "less_than_equal": f"at most {bound}"}[kind]
        got = f", got {number(value)}" if isinstance(value, int | float) and kind.startswith("less") else ""
        return f"must be {said}{got}"
    if kind == "literal_error":
        options = str(ctx.get("expected", "")).replace("'", "")
        return f"must be {options}" if options.count(",") == 0 else f"must be one of {options}"
    return str(e["msg"])  # pydantic's own words: a type we do not use yet


def _unwrap(t: Any) -> Any:
    """Annotated[X, …] → X; X | None → X."""
    while True:
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            t = typing.get_args(t)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(t) if a is not type(None)]
            if len(args) != 1:
                return t
            t = args[0]
        else:
            return t


def model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that validates the table at `loc` (None when it is not a model)."""
    t: Any = root
    for part in loc:
        t = _unwrap(t)
        if isinstance(t, type) and issubclass(t, BaseModel):
            field = next((f for n, f in t.model_fields.items() if part in (n, f.alias)), None)
            t = field.annotation if field else None
        elif typing.get_origin(t) in (list, tuple) and isinstance(part, int):
            t = typing.get_args(t)[0]
        elif typing.get_origin(t) is dict:
            t = typing.get_args(t)[1]
        else:
            return None
    t = _unwrap(t)
    return t if _is_model(t) else None


def _is_model_list(root: type[BaseModel], loc: Sequence[int | str]) -> bool:
    if not loc:
        return False
    parent = model_at(root, loc[:-1])
    field = parent.model_fields.get(str(loc[-1])) if parent else None
    if field is None:
        return False
    t = _unwrap(field.annotation)
    return typing.get_origin(t) is list and _is_model(typing.get_args(t)[0])


def _is_model(t: Any) -> bool:
    t = _unwrap(t)
    return isinstance(t, type) and issubclass(t, BaseModel)
