"""Unknown names a report mentions (people, units) are compared when merging stories; outlet names,
datelines and agency credits are not names of a story: two unrelated reports from one wire share them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.config.watch import load_watch
from bot.core.stories.facts import names
from bot.core.watch import Watch
from bot.model import Item

DATA: dict[str, Any] = {
    "title": "Names test",
    "threshold": 2.0,
    "roles": {"actor": {"weight": 2, "en": ["North Korea*", "Pyongyang"], "ru": ["КНДР"]},
              "place": {"weight": 1, "any": ["Kursk*", "Seoul", "Kyiv", "Moscow"]}},
    "require": [["actor", "place"]],
}
T0 = datetime(2025, 6, 3, 8, tzinfo=UTC)


def watch() -> Watch:
    w, errors = load_watch("names", DATA, "watches[0]")
    assert errors == [] and w is not None
    return w


WATCH = watch()


def item(summary: str, source: str = "Desk", lang: str = "en") -> Item:
    return Item(key="k", feed="f", source=source, url="https://example.test/k", title="", summary=summary,
                published=T0, fetched=T0, lang=lang)


@pytest.mark.parametrize(("summary", "source", "lang", "expected"), [
    # people and units still count
    ("Troops under Colonel Pak Myong fought near Kursk.", "Desk", "en", {"colonel", "myong"}),
    ("The Storm Corps lost men near Kursk.", "Desk", "en", {"storm", "corps"}),
    # the item's own outlet name
    ("North Korea sent Colonel Pak Myong to Kursk, Yonhap News Agency learned.", "Yonhap News Agency", "en",
     {"colonel", "myong"}),
    ("Pyongyang moved Storm Corps troops, the Desk Weekly Digest found.", "Desk Weekly Digest", "en",
     {"storm", "corps"}),
    # datelines
    ("SEOUL, Nov. 4 (Yonhap) -- North Korea sent Colonel Pak Myong to Kursk.", "Other", "en",
     {"colonel", "myong"}),
    ("KYIV — Marines captured Sergeant Baek near Kursk.", "Other", "en", {"sergeant", "baek"}),
    ("MOSCOW, June 3, 2025 (Reuters) - Pyongyang hosted Lavrentev.", "Other", "en", {"lavrentev"}),
    ("(Reuters) - Pyongyang hosted Lavrentev.", "Other", "en", {"lavrentev"}),
    # credits in parentheses
    ("Pyongyang hosted Lavrentev (Reuters) in a rare visit.", "Other", "en", {"lavrentev"}),
    ("Pyongyang hosted Lavrentev (AP Photo) and Storm Corps officers.", "Other", "en",
     {"lavrentev", "storm", "corps"}),
    ("Pyongyang hosted Lavrentev (Korean Central News Agency via KNS).", "Other", "en", {"lavrentev"}),
    # attributions to outlets
    ("Pyongyang hosted Lavrentev, Yonhap said.", "Other", "en", {"lavrentev"}),
    ("Pyongyang hosted Lavrentev, KCNA reported.", "Other", "en", {"lavrentev"}),
    ("Pyongyang hosted Lavrentev, according to NK News.", "Other", "en", {"lavrentev"}),
    ("An official told AFP that Pyongyang hosted Lavrentev.", "Other", "en", {"lavrentev"}),
    ("Pyongyang hosted Lavrentev, the Kyiv Independent reported.", "Other", "en", {"lavrentev"}),
    ("Pyongyang hosted Lavrentev, an official told the Korea Herald.", "Other", "en", {"lavrentev"}),
    ("Pyongyang hosted Lavrentev. Reuters could not verify the report.", "Other", "en", {"lavrentev"}),
    ("КНДР посетил Лаврентьев, сообщает ТАСС.", "Other", "ru", {"лаврентьев"}),
    ("По данным РИА Новости, КНДР посетил Лаврентьев.", "Other", "ru", {"лаврентьев"}),
    # people who speak are still names; outlet words outside a credit or attribution stay
    ("Pyongyang hosted Lavrentev, General Syrsky said.", "Other", "en", {"lavrentev", "general", "syrsky"}),
    ("Pyongyang formed the Independent Storm Corps.", "Other", "en", {"independent", "storm", "corps"}),
])
def test_names(summary: str, source: str, lang: str, expected: set[str]) -> None:
    assert names(WATCH, item(summary, source, lang)) == expected


def test_same_outlet_unrelated_reports_share_no_names() -> None:
    """Two reports from one wire about different things: the wire's credits are not shared names."""
    a = item("SEOUL, Nov. 4 (Yonhap) -- Pyongyang hosted Lavrentev, Yonhap News Agency said.", "Yonhap")
    b = item("SEOUL, Nov. 5 (Yonhap) -- Storm Corps troops left Kursk, according to Yonhap News Agency.",
             "Yonhap")
    assert names(WATCH, a) & names(WATCH, b) == set()
    assert names(WATCH, a) == {"lavrentev"} and names(WATCH, b) == {"storm", "corps"}


def test_a_dateline_gives_no_entities_or_words_to_compare() -> None:
    """Every report of a wire opens with its dateline: the city in it (an entity of the gazetteer
    here) is where the desk sits, not a fact of the story, and so are the dateline's words."""
    from bot.core.stories.facts import item_facts

    w, errors = load_watch("names", {**DATA, "entities": [
        {"id": "south-korea", "label": "South Korea", "kind": "country", "weight": 0.5, "any": ["Seoul"]}]},
        "watches[0]")
    assert errors == [] and w is not None
    a = item_facts(w, item("SEOUL, Nov. 4 (Yonhap) -- Pyongyang hosted a delegation from Moscow.", "Yonhap"))
    b = item_facts(w, item("SEOUL, Nov. 5 (Yonhap) -- North Korean troops left Kursk.", "Yonhap"))
    assert "south-korea" not in a.entities and "south-korea" not in b.entities
    assert not any(s.startswith(("seoul", "yonhap")) for s in [*a.stems, *b.stems])
    # the same city in the story itself still counts
    c = item_facts(w, item("Officials in Seoul told Yonhap that North Korean troops left Kursk.", "Desk"))
    assert "south-korea" in c.entities and "yonhap" in c.stems
