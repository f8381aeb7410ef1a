"""bench/copies.py's reissues: one per gold-relevant row, another outlet and link, the same text."""

from __future__ import annotations

from bench.copies import VARIANTS, copies

ROWS = [{"id": "a", "title": "Troops sent", "summary": "Text a.", "source": "Wire", "url": "https://w/a",
         "published": "2024-01-01", "relevant": True, "story": "s"},
        {"id": "b", "title": "", "summary": "Text b.", "source": "Paper", "url": "https://p/b",
         "published": "", "relevant": True, "story": "s"},
        {"id": "c", "title": "Noise", "summary": "Text c.", "source": "Wire", "url": "https://w/c",
         "published": "2024-01-02", "relevant": False, "story": ""}]


def test_each_relevant_row_is_reissued_once_with_its_text() -> None:
    for variant in VARIANTS:
        got = copies(ROWS, variant)
        assert [c["id"] for c in got] == ["a-copy", "b-copy"]
        assert [c["summary"] for c in got] == ["Text a.", "Text b."]
        assert all(c["url"] != r["url"] and c["source"] != r["source"] for c, r in zip(got, ROWS, strict=False))
    dated, undated, bare = (copies(ROWS, v)[0] for v in VARIANTS)
    assert (dated["published"], dated["title"]) == ("2024-01-01", "Troops sent | Syndicator")
    assert (undated["published"], undated["title"]) == ("", "Troops sent | Syndicator")
    assert (bare["published"], bare["title"]) == ("", "")
