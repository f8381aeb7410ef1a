"""identity.classify: the duplicate rule, one table of (item, earlier items) -> verdict."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import identity
from bot.core.identity import SAME_TITLE_WINDOW, IdentityVerdict, classify
from bot.model import Item

T0 = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def item(key: str, **over: Any) -> Item:
    fields: dict[str, Any] = {"key": key, "feed": "yonhap-en", "source": "Yonhap", "title": "Headline",
                              "url": f"https://yna.example/{key}", "summary": "", "published": T0,
                              "fetched": T0, "lang": "en", "title_hash": "h1"}
    fields.update(over)
    return Item(**fields)


ORIGINAL = item("guid:a")
HERALD = dict(feed="herald", source="Korea Herald")
CASES: list[tuple[str, Item, list[Item], str, str | None, str]] = [
    # (case, item, earlier items, verdict, twin key, basis)
    ("nothing earlier", item("guid:b", title_hash="h2"), [], "new", None, ""),
    ("same guid polled again", item("guid:a"), [ORIGINAL], "duplicate", "guid:a", "guid"),
    ("same url key", item("url:x"), [item("url:x")], "duplicate", "url:x", "url"),
    ("guid changed, same url", item("guid:a2", url=ORIGINAL.url, title_hash="h9"), [ORIGINAL],
     "duplicate", "guid:a", "url"),
    ("other feed, same url", item("guid:b", url=ORIGINAL.url, title_hash="h9", **HERALD), [ORIGINAL],
     "duplicate", "guid:a", "url"),
    ("same outlet, same headline, new link", item("guid:a2", url="https://yna.example/a2"), [ORIGINAL],
     "duplicate", "guid:a", "headline"),
    ("same outlet's other feed, same headline", item("guid:a2", feed="yonhap-nk", url="https://yna.example/nk"),
     [ORIGINAL], "duplicate", "guid:a", "headline"),
    ("same feed, outlet renamed", item("guid:a2", source="YONHAP", url="https://yna.example/z"), [ORIGINAL],
     "duplicate", "guid:a", "headline"),
    ("other outlet, same headline, same day", item("guid:h", url="https://herald.example/h", **HERALD),
     [ORIGINAL], "copy", "guid:a", "headline"),
    ("other outlet at the window's edge",
     item("guid:h", url="https://herald.example/h", published=T0 + SAME_TITLE_WINDOW, **HERALD),
     [ORIGINAL], "copy", "guid:a", "headline"),
    ("other outlet, earlier by a day", item("guid:h", url="https://herald.example/h",
                                           published=T0 - timedelta(days=1), **HERALD),
     [ORIGINAL], "copy", "guid:a", "headline"),
    ("other outlet after the window", item("guid:h", url="https://herald.example/h",
                                          published=T0 + SAME_TITLE_WINDOW + timedelta(minutes=1), **HERALD),
     [ORIGINAL], "new", None, ""),
    ("same outlet after the window: a recurring headline",
     item("guid:a2", url="https://yna.example/a2", published=T0 + timedelta(days=30)), [ORIGINAL], "new", None, ""),
    ("copy of a copy joins the original", item("guid:t", feed="times", source="Korea Times",
                                               url="https://times.example/t", published=T0 + timedelta(hours=5)),
     [item("guid:h", url="https://herald.example/h", published=T0 + timedelta(hours=2), **HERALD), ORIGINAL],
     "copy", "guid:a", "headline"),
    ("same outlet wins over another outlet", item("guid:a2", url="https://yna.example/a2"),
     [item("guid:h", url="https://herald.example/h", **HERALD), ORIGINAL], "duplicate", "guid:a", "headline"),
    ("key wins over url and headline", item("guid:a"), [item("guid:z", url=ORIGINAL.url), ORIGINAL],
     "duplicate", "guid:a", "guid"),
    ("empty url never matches", item("text:b", url="", title_hash="h2"), [item("text:c", url="", title_hash="h3")],
     "new", None, ""),
    ("empty title hash never matches", item("guid:b", title_hash="", url="https://yna.example/b"),
     [item("guid:c", title_hash="")], "new", None, ""),
    ("unrelated earlier items are ignored", item("guid:b", title_hash="h2", url="https://yna.example/b"),
     [ORIGINAL], "new", None, ""),
]


@pytest.mark.parametrize(("case", "new", "twins", "kind", "twin", "basis"), CASES, ids=[c[0] for c in CASES])
def test_classify(case: str, new: Item, twins: list[Item], kind: str, twin: str | None, basis: str) -> None:
    verdict = classify(new, twins)
    assert (verdict.kind, verdict.twin.key if verdict.twin else None, verdict.basis) == (kind, twin, basis)


@pytest.mark.parametrize(("verdict", "detail"), [
    (classify(item("guid:a2", url="https://yna.example/a2", source="Yonhap"), [ORIGINAL]),
     "duplicate of guid:a (same headline, Yonhap)"),
    (classify(item("guid:b", url=ORIGINAL.url, title_hash="h9", **HERALD), [ORIGINAL]),
     "duplicate of guid:a (same url, Korea Herald)"),
    (classify(item("guid:h", url="https://herald.example/h", **HERALD), [ORIGINAL]),
     "same headline as https://yna.example/guid:a (syndicated copy)"),
    (classify(item("guid:b", title_hash="h2"), [ORIGINAL]), ""),
])
def test_verdict_detail_names_the_twin(verdict: IdentityVerdict, detail: str) -> None:
    assert verdict.detail == detail


def test_window_is_a_few_days() -> None:
    assert timedelta(days=1) < SAME_TITLE_WINDOW <= timedelta(days=7)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
def test_ascii_titles_lose_the_punctuation_the_pattern_names(text: str) -> None:
    """The ASCII table does what the punctuation pattern does (it is made from it)."""
    plain = identity._LABEL.sub("", " ".join(text.casefold().split()))
    assert identity._title_words(text) == " ".join(identity._PUNCTUATION.sub(" ", plain).split())
