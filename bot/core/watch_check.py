"""Validation helpers for watch data: typed reads that collect every error with its key path.

Used by core/watch.py only; a Checker is a short-lived error accumulator, never shared.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from bot.core.relevance.terms import Term, parse_term

T = TypeVar("T")
LANG_KEY = re.compile(r"^(?:[a-z]{2,3}(?:_[a-z]{2,4})?|any)$")
ISO_639_2 = {"ind": "id"}  # `id` is taken by gazetteer entries' own key
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number"}


class Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, path: str, message: str) -> None:
        self.errors.append(f"{path}: {message}")

    def keys(self, data: Mapping[str, Any], allowed: set[str], where: str, langs: bool = False) -> None:
        """Reject unknown keys; with `langs`, language codes (en, ko, ru, any …) are allowed too."""
        for k in data:
            if k in allowed or (langs and LANG_KEY.match(k)):
                continue
            hint = " or a language code (en, ko, ru …)" if langs else ""
            known = ", ".join(sorted(allowed)) or "none"
            self.err(f"{where}.{k}", f"unknown key (allowed: {known}{hint})")

    def get(self, data: Mapping[str, Any], key: str, typ: type[T], where: str, default: T) -> T:
        if key not in data:
            return default
        v = data[key]
        if not isinstance(v, typ) or (typ is not bool and isinstance(v, bool)):
            self.err(f"{where}.{key}", f"must be {_TYPE_NAMES.get(typ, typ.__name__)}")
            return default
        return v

    def number(self, data: Mapping[str, Any], key: str, where: str, default: float,
               positive: bool = False) -> float:
        if key not in data:
            return default
        v = data[key]
        if isinstance(v, bool) or not isinstance(v, int | float):
            self.err(f"{where}.{key}", "must be a number")
            return default
        if positive and v <= 0:
            self.err(f"{where}.{key}", "must be greater than 0")
            return default
        return float(v)

    def table(self, data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
        v = data.get(key, {})
        if not isinstance(v, Mapping):
            self.err(f"{where}.{key}", "must be a table")
            return {}
        return v

    def tables(self, data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
        v = data.get(key, [])
        if not isinstance(v, list):
            self.err(f"{where}.{key}", "must be an array of tables ([[...]])")
            return []
        out: list[Mapping[str, Any]] = []
        for i, t in enumerate(v):
            if isinstance(t, Mapping):
                out.append(t)
            else:
                self.err(f"{where}.{key}[{i}]", "must be a table")
        return out

    def lang_terms(self, data: Mapping[str, Any], where: str, skip: frozenset[str] = frozenset()
                   ) -> tuple[Term, ...]:
        """Every term listed under a language key (not in `skip`), compiled; bad ones reported."""
        out: list[Term] = []
        for lang, lst in data.items():
            if lang in skip or not LANG_KEY.match(lang):
                continue
            if not isinstance(lst, list):
                self.err(f"{where}.{lang}", "must be an array of terms")
                continue
            code = ISO_639_2.get(lang, lang)
            for i, raw in enumerate(lst):
                term = parse_term(raw, code) if isinstance(raw, str) else None
                if term is None:
                    self.err(f"{where}.{lang}[{i}]", "must be a non-empty term (words, * for a stem)")
                else:
                    out.append(term)
        return tuple(out)
