"""Figures and dates mentioned in a text: the troop counts, casualty numbers and event days that
tell one report of a development from another report on the same topic.

Language-neutral where possible (digits, separators, scale words in the main feed languages);
years, ordinals and day-of-month numbers are not figures.
"""

from __future__ import annotations

import re

_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "millions": 1_000_000, "mln": 1_000_000,
           "billion": 1_000_000_000, "bn": 1_000_000_000, "тыс": 1000, "тысяч": 1000, "тысячи": 1000,
           "тисяч": 1000, "тисячі": 1000, "млн": 1_000_000, "миллиона": 1_000_000, "миллионов": 1_000_000,
           "мільйона": 1_000_000, "мільйонів": 1_000_000, "millionen": 1_000_000, "milioni": 1_000_000,
           "milione": 1_000_000, "millones": 1_000_000, "milhões": 1_000_000, "mila": 1000, "mil": 1000,
           "tausend": 1000, "만": 10_000, "천": 1000, "백": 100, "억": 100_000_000}
_NUM = re.compile(
    r"(?<![\w.,])(\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?![\d])|\d+(?:[.,]\d+)?)"
    r"(?:\s?(" + "|".join(sorted((re.escape(k) for k in _SCALES), key=len, reverse=True)) + r")(?!\w))?"
    r"((?:st|nd|rd|th|일|日|-?й|-?го)\b)?",
    re.IGNORECASE)
_KO_NUM = re.compile(r"(\d+)(만|천|백)(?:(\d+)(천|백))?")
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
          "fifty": 50, "a hundred": 100, "ein": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
          "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "due": 2, "tre": 3, "cinque": 5, "dieci": 10}
_WORD_NUM = re.compile(r"\b(" + "|".join(_WORDS) + r")[\s-]?(hundred|thousand|million|tausend|mila)\b",
                       re.IGNORECASE)
# Month names: Latin-script languages as whole words (so "march" or "mayor" in a sentence is not
# read as a month unless followed by a day), Cyrillic as stems (they inflect: 7 февраля).
_LATIN_MONTHS = (
    "january jan janvier gennaio enero janeiro januar stycznia",
    "february feb febr février febbraio febrero fevereiro februar lutego",
    "march mar mars marzo março märz marca",
    "april apr avril aprile abril kwietnia",
    "may mai maggio mayo maio maja",
    "june jun juin giugno junio junho juni czerwca",
    "july jul juillet luglio julio julho juli lipca",
    "august aug août agosto sierpnia",
    "september sep sept septembre settembre septiembre setembro wrzesnia",
    "october oct octobre ottobre octubre outubro oktober pazdziernika",
    "november nov novembre noviembre novembro listopada",
    "december dec décembre dicembre diciembre dezembro dezember grudnia",
)
_MONTH_NAMES = {w: n for n, words in enumerate(_LATIN_MONTHS, 1) for w in words.split()}
_CYRILLIC_MONTHS = ("январ січ", "феврал лют", "март берез", "апрел квіт", "мая май травн", "июн червн",
                    "июл липн", "август серп", "сентябр верес", "октябр жовт", "ноябр листопад",
                    "декабр груд")
_MONTH_WORD = r"([a-zà-ÿа-яіїєґ]{3,})"
_DAY_MONTH = re.compile(r"(?<!\d)(\d{1,2})\.?\s+(?:de\s+)?" + _MONTH_WORD, re.IGNORECASE)
_MONTH_DAY = re.compile(_MONTH_WORD + r"\.?\s+(\d{1,2})(?!\d)", re.IGNORECASE)
_KO_DATE = re.compile(r"(\d{1,2})월\s*(\d{1,2})일")


def month_of(word: str) -> int | None:
    w = word.casefold()
    if w in _MONTH_NAMES:
        return _MONTH_NAMES[w]
    for n, stems in enumerate(_CYRILLIC_MONTHS, 1):
        if any(w.startswith(s) for s in stems.split()) and len(w) <= 9:
            return n
    return None


def dates(text: str) -> tuple[set[str], list[tuple[int, int]]]:
    """Month-day mentions as "MM-DD", and their spans (so their digits are not read as figures)."""
    found: set[str] = set()
    spans: list[tuple[int, int]] = []
    for m in _KO_DATE.finditer(text):
        if 1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31:
            found.add(f"{int(m.group(1)):02d}-{int(m.group(2)):02d}")
            spans.append(m.span())
    for rx, day_first in ((_DAY_MONTH, True), (_MONTH_DAY, False)):
        for m in rx.finditer(text):
            day, word = (m.group(1), m.group(2)) if day_first else (m.group(2), m.group(1))
            month = month_of(word)
            if month and 1 <= int(day) <= 31:
                found.add(f"{month:02d}-{int(day):02d}")
                spans.append(m.span())
    return found, spans


def _value(digits: str, scale: str | None) -> float | None:
    compact = re.sub(r"[\u00a0\u202f ]", "", digits)
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", compact) and not scale:
        return float(re.sub(r"[,.]", "", compact))
    try:
        base = float(compact.replace(",", "."))
    except ValueError:
        return None
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", compact):
        base = float(re.sub(r"[,.]", "", compact))
    return base * _SCALES.get((scale or "").casefold(), 1)


def figures(text: str) -> set[int]:
    """Significant figures (≥ 10, not a year, not a date or ordinal) as integers."""
    _, spans = dates(text)
    masked = list(text)
    for a, b in spans:
        masked[a:b] = " " * (b - a)
    plain = "".join(masked)
    out: set[int] = set()
    for m in _KO_NUM.finditer(plain):
        v = int(m.group(1)) * _SCALES[m.group(2)]
        if m.group(3):
            v += int(m.group(3)) * _SCALES[m.group(4)]
        out.add(v)
    plain = _KO_NUM.sub(" ", plain)
    for m in _WORD_NUM.finditer(plain):
        out.add(_WORDS[m.group(1).casefold()] * _SCALES.get(m.group(2).casefold(), 1000))
    for m in _NUM.finditer(plain):
        digits, scale, ordinal = m.group(1), m.group(2), m.group(3)
        if ordinal:
            continue
        value = _value(digits, scale)
        if value is None:
            continue
        if not scale and re.fullmatch(r"(19|20)\d\d", digits):
            continue  # a year
        if value >= 10:
            out.add(int(value))
    return out


_YEAR = re.compile(r"(?<![\w.,])(19[5-9]\d|20\d\d)(?![\w,.]\d)")


def years(text: str) -> set[int]:
    """Four-digit years mentioned (1950-2099): a report is not older than the latest it names."""
    return {int(m.group(1)) for m in _YEAR.finditer(text)}
