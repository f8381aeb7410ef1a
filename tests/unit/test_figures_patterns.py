"""The faster spellings of figures.py's patterns find exactly what the plain ones found.

_CLOCK got a lookahead of the characters a match can start with, _MONTH_DAY a lookbehind that
starts it only where a run of letters starts, and _WORD_NUM runs only on text that holds a scale
word. The plain patterns are kept here as they were; both are run over adversarial text built
from the characters the patterns care about (case variants and Unicode case equivalents too) and
over every row of the dev corpora when they are present.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.stories import figures
from bot.core.stories.figures import _WORDS

PLAIN_CLOCK = re.compile(
    r"(?<![\d.,:])(?:[01]?\d|2[0-4])(?::[0-5]\d|\s?h\s?[0-5]\d)(?![\d:])"
    r"|(?:\b(?:at|um|alle|ore|à|a las|в|о)\s+)(?:[01]?\d|2[0-4])[.][0-5]\d(?!\d)"
    r"|(?<![\d.,])(?:[01]?\d|2[0-4])(?:[.][0-5]\d)?\s?(?:a\.m\.|p\.m\.|am\b|pm\b|uhr\b|o'clock)"
    r"|(?:(?:오전|오후|새벽|밤)\s?)?(?<!\d)\d{1,2}시(?!간)(?:\s?\d{1,2}분)?"
    r"|(?<!\d)\d{1,2}時(?!間)(?:\d{1,2}分)?",
    re.IGNORECASE)
PLAIN_MONTH_DAY = re.compile(r"([^\W\d_]{3,})\.?\s+(\d{1,2})(?!\d|[,.]\d)", re.IGNORECASE)
PLAIN_WORD_NUM = re.compile(r"\b(" + "|".join(_WORDS) + r")[\s-]?(hundred|thousand|million|tausend|mila)\b",
                            re.IGNORECASE)

PIECES = ("1", "0", "2", "4", "9", "12", "24", "10.30", "9.05", "23:59", "5", "٣", "３", ":", ".", ",", " ", "  ",
          "\n", "-", "h", "H", "at ", "AT ", "um ", "alle ", "ore ", "à ", "À ", "a las ", "в ", "В ", "ᲀ ",
          "о ", "О ", "ᲂ ", "o ",
          "pm", "a.m.", "Uhr", "o'clock", "오전", "오후 ", "새벽", "밤", "시", "시간", "분", "時", "間", "分",
          "March", "march", "Mar", "May", "décembre", "марта", "Jan.", "xMarch", "_", "é", "ß", "two", "TWO",
          "thousand", "thouſand", "Hundred", "million", "mila", "zwei", "tausend", "a hundred", "ein", "st", "th")
texts = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)
CORPORA = [Path(__file__).resolve().parents[3] / "shared" / "corpus" / name for name in ("dev.jsonl", "dev2.jsonl")]


def found(rx: re.Pattern[str], text: str) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    return [(m.span(), m.groups()) for m in rx.finditer(text)]


def word_numbers(text: str) -> list[tuple[tuple[int, int], tuple[str | None, ...]]]:
    """What figures() reads of _WORD_NUM: nothing without a scale word."""
    return found(figures._WORD_NUM, text) if figures._WORD_SCALE.search(text) else []


@settings(max_examples=3000, deadline=None)
@given(texts)
def test_the_fast_patterns_find_what_the_plain_ones_found(text: str) -> None:
    assert found(figures._CLOCK, text) == found(PLAIN_CLOCK, text)
    assert found(figures._MONTH_DAY, text) == found(PLAIN_MONTH_DAY, text)
    assert word_numbers(text) == found(PLAIN_WORD_NUM, text)


@pytest.mark.parametrize("text", ["at 10.30", "В 10.30", "ᲀ 10.30", "о 10.30", "ᲂ 9.05", "um 7.45", "à 8.00",
                                  "xMarch 5", "Jan. 7", "오전 10시 30분",
                                  "ore 9.15", "two thousand", "TWO-THOUSAND", "thouſand", "12h30", "3 PM"])
def test_known_cases(text: str) -> None:
    assert found(figures._CLOCK, text) == found(PLAIN_CLOCK, text)
    assert found(figures._MONTH_DAY, text) == found(PLAIN_MONTH_DAY, text)
    assert word_numbers(text) == found(PLAIN_WORD_NUM, text)


@pytest.mark.skipif(not all(p.exists() for p in CORPORA), reason="the dev corpora are not next to the project")
def test_every_corpus_row() -> None:
    for path in CORPORA:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            text = f"{row['title']}\n{row['summary']}"
            assert found(figures._CLOCK, text) == found(PLAIN_CLOCK, text), row["id"]
            assert found(figures._MONTH_DAY, text) == found(PLAIN_MONTH_DAY, text), row["id"]
            assert word_numbers(text) == found(PLAIN_WORD_NUM, text), row["id"]
