"""The brain reads a headline and the opening of a summary, as in the leads it was fitted on: a
feed's full article does not bring its background paragraphs into relevance or story facts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.relevance.placement import READ_CHARS, READ_SENTENCES, _still_open, read_item, read_window
from bot.core.relevance.terms import iter_sentences, sentences
from bot.core.stories.facts import item_facts
from bot.embedding import item_text
from tests.factories import item
from tests.unit.test_fingerprint import watch

LEAD = "North Korean troops reached Kursk on Monday. Officials confirmed the arrival."
BACKGROUND = " ".join(f"Background sentence number {n} recalls Vovchansk and 1,{n:03d} shells." for n in range(12))


@pytest.mark.parametrize(("summary", "expected"), [
    ("", ""),
    (LEAD, LEAD),  # fits: unchanged
    ("One. Two words here. Three more words. Four is last.", "One. Two words here. Three more words. Four is last."),
    ("First one here. Second one here. Third one here. Fourth one here. Fifth one here.",
     "First one here. Second one here. Third one here. Fourth one here."),
    ("U.S. officials said so. Feb. 4 was the day. Third here. Fourth here. Fifth here.",  # abbreviations
     "U.S. officials said so. Feb. 4 was the day. Third here. Fourth here."),
])
def test_window_keeps_whole_leading_sentences(summary: str, expected: str) -> None:
    assert read_window(summary) == expected


def test_window_stops_at_the_character_cap_on_a_sentence_end() -> None:
    long_sentence = "Word " * 150 + "end."  # ~750 characters
    summary = f"{long_sentence} {long_sentence} Tail."
    window = read_window(summary)
    assert window == long_sentence
    assert len(window) <= READ_CHARS


def test_one_unbroken_run_is_cut_at_a_word_boundary() -> None:
    summary = "word " * 400
    window = read_window(summary)
    assert 0 < len(window) <= READ_CHARS
    assert summary.startswith(window) and not window.endswith("wor")


def test_background_paragraphs_beyond_the_window_are_not_read() -> None:
    w = watch()
    full = item("Troops arrive", f"{LEAD} {BACKGROUND} The fighting near Zolotukhino goes on.")
    window = read_window(full.summary)
    assert window == f"{LEAD} Background sentence number 0 recalls Vovchansk and 1,000 shells. " \
                     "Background sentence number 1 recalls Vovchansk and 1,001 shells."
    read = read_item(w, full).text_of("title", "lead", "tail")
    assert "zolotukhino" not in read and "number 2" not in read
    facts = item_facts(w, full)
    assert 1001 in facts.numbers and 1002 not in facts.numbers and 1011 not in facts.numbers
    assert "vovchansk" in facts.names and "zolotukhino" not in facts.names
    assert item_text(full.title, full.summary) == f"Troops arrive {window}"


# --- the lazy split gives the window splitting the whole summary gave ------------------------------

def _window_from_every_sentence(summary: str) -> str:
    """read_window as it was before it split lazily: every sentence of the summary first."""
    parts = sentences(summary)
    if len(summary) <= READ_CHARS and len(parts) <= READ_SENTENCES:
        return summary
    end = pos = 0
    for n, s in enumerate(parts):
        at = summary.find(s, pos)
        stop = at + len(s)
        if n >= READ_SENTENCES or (stop > READ_CHARS and n > 0):
            break
        end = pos = stop
    if end > READ_CHARS:
        end = summary.rfind(" ", 0, READ_CHARS + 1)
        end = end if end > 0 else READ_CHARS
    return summary[:end]


_PIECES = ["North", "Korean", "troops", "U.S.", "Feb.", "Gen.", "Kim", "a", "in", "Kursk.", "said.", "“We", "won.”",
           "«Да»", "Они", "북한군이", "파병했다.", "1,500", "shells!", "why?", "(AP)", "-", "  ", "\n", "x" * 300]


@given(st.lists(st.sampled_from(_PIECES), max_size=400))
@settings(max_examples=300, deadline=None)
def test_the_lazy_window_equals_the_window_of_every_sentence(words: list[str]) -> None:
    summary = " ".join(words)
    assert read_window(summary) == _window_from_every_sentence(summary)
    assert sentences(summary) == list(iter_sentences(summary))


# What each character does to the quotation state: opening marks open it, closing ones close it,
# a straight quote toggles it (None), anything else leaves it.
QUOTE_EFFECT = {"“": True, "«": True, "„": True, "”": False, "»": False, '"': None}


def _still_open_by_character(sentence: str, open_before: bool) -> bool:
    state = open_before
    for ch in sentence:
        effect = QUOTE_EFFECT.get(ch, state)
        state = (not state) if effect is None else effect
    return state


@settings(max_examples=400, deadline=None)
@given(st.text(st.sampled_from(list('ab .“«„”»"‘’\'')), max_size=40), st.booleans())
def test_the_quotation_state_visits_only_quote_marks_and_agrees(sentence: str, open_before: bool) -> None:
    assert _still_open(sentence, open_before) == _still_open_by_character(sentence, open_before)
