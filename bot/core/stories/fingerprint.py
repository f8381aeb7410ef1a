"""The facts a story accumulates from its reports, kept in `Story.features` as JSON.

A story remembers every entity, figure and date its reports named, how many reports used each
distinctive stem, a few headline texts per language, and the dates of its dated reports, so a new
report can be compared with the whole story rather than with its first headline only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.core.stories.facts import Facts

MAX_TEXTS = 6  # headline texts kept for near-duplicate comparison (most recent win)


@dataclass(frozen=True)
class StoryFacts:
    entities: dict[str, float]
    numbers: frozenset[int]
    dates: frozenset[str]
    stems: dict[str, float]
    names: frozenset[str]
    texts: tuple[tuple[str, str], ...]  # (lang, folded title + lead)
    times: tuple[datetime, ...]  # published times of the dated reports

    @staticmethod
    def empty() -> StoryFacts:
        return StoryFacts({}, frozenset(), frozenset(), {}, frozenset(), (), ())

    def absorb(self, facts: Facts, published: datetime | None) -> StoryFacts:
        ents = dict(self.entities)
        for k, w in facts.entities.items():
            ents[k] = max(ents.get(k, 0.0), w)
        stems = dict(self.stems)
        for k, w in facts.stems.items():
            stems[k] = stems.get(k, 0.0) + w
        texts = (*self.texts, (facts.lang, facts.text))[-MAX_TEXTS:] if facts.text else self.texts
        times = tuple(sorted((*self.times, published))) if published is not None else self.times
        return StoryFacts(ents, self.numbers | facts.numbers, self.dates | facts.dates, stems,
                          self.names | facts.names, texts, times)

    def to_json(self) -> str:
        return json.dumps({"ents": self.entities, "nums": sorted(self.numbers), "dates": sorted(self.dates),
                           "stems": self.stems, "names": sorted(self.names), "texts": [list(t) for t in self.texts],
                           "times": [t.isoformat() for t in self.times]}, ensure_ascii=False,
                          sort_keys=True)

    @staticmethod
    def from_json(raw: str) -> StoryFacts:
        """Read what to_json wrote; anything unreadable reads as an empty story (never raises)."""
        try:
            d = json.loads(raw or "{}")
            return StoryFacts(
                {str(k): float(v) for k, v in d.get("ents", {}).items()},
                frozenset(int(n) for n in d.get("nums", [])),
                frozenset(str(x) for x in d.get("dates", [])),
                {str(k): float(v) for k, v in d.get("stems", {}).items()},
                frozenset(str(x) for x in d.get("names", [])),
                tuple((str(a), str(b)) for a, b in d.get("texts", [])),
                tuple(datetime.fromisoformat(t) for t in d.get("times", [])),
            )
        except (ValueError, TypeError, AttributeError):
            return StoryFacts.empty()
