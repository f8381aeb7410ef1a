"""A story's fingerprint, kept in `Story.features` as JSON: its first few reports (the core) and
what it has seen, bounded so a story cannot grow until it matches everything.

A new report is compared with the core reports only (the ones that defined the development),
never with the union of every source: a story with forty sources is not forty times likelier to
match. The union of figures and entities is kept apart, only to say what a report adds.
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.core.stories.facts import Facts

MAX_CORE = 5  # reports a story is matched on; later sources are listed but not matched against
MAX_SEEN = 200  # figures/entities remembered for "new fact" notes


@dataclass(frozen=True)
class StoryFacts:
    core: tuple[Facts, ...]
    seen_numbers: frozenset[int]
    seen_entities: frozenset[str]
    first: datetime | None  # earliest and latest dated report
    last: datetime | None
    claimed: int = 0  # reports the story claimed (relevant only as its reports: never in the core)

    @staticmethod
    def empty() -> StoryFacts:
        return StoryFacts((), frozenset(), frozenset(), None, None)

    def absorb(self, facts: Facts, core_ok: bool = True) -> StoryFacts:
        """The story with one more report; it joins the core while there is room, unless it is
        a report the story claimed (`core_ok` False: its relevance rests on the story's own)."""
        core = self.core if len(self.core) >= MAX_CORE or not core_ok else (*self.core, facts)
        claimed = self.claimed + (not core_ok)
        t = facts.published
        first = t if t is not None and (self.first is None or t < self.first) else self.first
        last = t if t is not None and (self.last is None or t > self.last) else self.last
        nums = frozenset(sorted(self.seen_numbers | facts.numbers)[:MAX_SEEN])
        ents = frozenset(sorted(self.seen_entities | set(facts.entities))[:MAX_SEEN])
        return StoryFacts(core, nums, ents, first, last, claimed)

    def to_json(self, written: Sequence[str] | None = None) -> str:
        """The fingerprint as JSON. `written`: each core report's `core_json(f)`, when the caller
        has them (a story's core changes only in its first few merges, and encoding it again was
        most of what a merge cost); the text is the same either way."""
        out = {"v": 3, "core": [], "nums": sorted(self.seen_numbers),
               "ents": sorted(self.seen_entities), "first": _iso(self.first), "last": _iso(self.last)}
        if self.claimed:
            out["claimed"] = self.claimed
        parts = [core_json(f) for f in self.core] if written is None else written
        # json.dumps writes a list as "[" + its items joined by ", " + "]"; with sorted keys only
        # "claimed" (a number) comes before "core", so the first '"core": []' is the core's place.
        return json.dumps(out, ensure_ascii=False, sort_keys=True).replace(
            '"core": []', '"core": [' + ", ".join(parts) + "]", 1)

    @staticmethod
    def from_json(raw: str) -> StoryFacts:
        """Read what to_json wrote (or the older unbounded format); never raises."""
        try:
            d = json.loads(raw or "{}")
            if d.get("v") in (2, 3):
                return StoryFacts(tuple(_facts_in(f) for f in d["core"]), frozenset(int(n) for n in d["nums"]),
                                  frozenset(str(e) for e in d["ents"]), _time(d.get("first")), _time(d.get("last")),
                                  int(d.get("claimed", 0)))
            return _legacy(d)
        except (ValueError, TypeError, AttributeError, KeyError, binascii.Error, struct.error):
            return StoryFacts.empty()


def core_json(f: Facts) -> str:
    """One core report as `to_json` writes it."""
    return json.dumps(_facts_out(f), ensure_ascii=False, sort_keys=True)


def read_back(f: Facts, written: str | None = None) -> Facts:
    """The report as `from_json` reads it from what `to_json` wrote: its dicts in key order, its
    embedding as plain floats. A fingerprint kept in memory after a write must equal the one read
    from the store, to the order of every sum (story merging must not depend on which it got).
    `written`: its core_json, when the caller has it."""
    return _facts_in(json.loads(core_json(f) if written is None else written))


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t is not None else None


def _time(v: Any) -> datetime | None:
    return datetime.fromisoformat(v) if isinstance(v, str) and v else None


def _facts_out(f: Facts) -> dict[str, Any]:
    return {"e": f.entities, "n": sorted(f.numbers), "d": sorted(f.dates), "y": sorted(f.years), "s": f.stems,
            "m": sorted(f.names), "t": f.text, "l": f.lang, "p": _iso(f.published),
            "vb": _pack(f.vector) if f.vector is not None else None}


def _pack(vector: tuple[float, ...]) -> str:
    """The embedding as little-endian doubles in base64: exact, and written and read in C (as a
    JSON list of decimals, 384 numbers took milliseconds each way, per merge)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}d", *vector)).decode("ascii")


def _unpack(packed: str) -> tuple[float, ...]:
    raw = base64.b64decode(packed, validate=True)
    return struct.unpack(f"<{len(raw) // 8}d", raw)


def _vector_in(d: dict[str, Any]) -> tuple[float, ...] | None:
    if d.get("vb"):
        return _unpack(d["vb"])
    return tuple(float(x) for x in d["v"]) if d.get("v") else None  # format 2: rounded decimals


def _facts_in(d: dict[str, Any]) -> Facts:
    return Facts({str(k): float(v) for k, v in d["e"].items()}, frozenset(int(n) for n in d["n"]),
                 frozenset(str(x) for x in d["d"]), frozenset(int(y) for y in d["y"]),
                 {str(k): float(v) for k, v in d["s"].items()}, frozenset(str(x) for x in d["m"]), str(d["t"]),
                 str(d["l"]), _time(d.get("p")), _vector_in(d))


def _legacy(d: dict[str, Any]) -> StoryFacts:
    """Stories written before fingerprints were bounded: their union becomes one core report."""
    times = [datetime.fromisoformat(t) for t in d.get("times", [])]
    texts = d.get("texts", [])
    lang, text = (str(texts[0][0]), str(texts[0][1])) if texts else ("", "")
    f = Facts({str(k): float(v) for k, v in d.get("ents", {}).items()}, frozenset(int(n) for n in d.get("nums", [])),
              frozenset(str(x) for x in d.get("dates", [])), frozenset(),
              {str(k): min(1.0, float(v)) for k, v in d.get("stems", {}).items()},
              frozenset(str(x) for x in d.get("names", [])), text, lang, times[0] if times else None)
    sf = StoryFacts.empty().absorb(f)
    return replace(sf, last=times[-1] if times else sf.last)
