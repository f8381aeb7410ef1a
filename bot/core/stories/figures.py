"""Figures and dates mentioned in a text: the troop counts, casualty numbers and event days that
tell one report of a development from another report on the same topic.

Language-neutral where possible (digits, separators, scale words in the main feed languages).
Not figures: years, ordinals, day-of-month numbers, clock times, percentages, calibres and the
digits of weapon designations (KN-23, Su-57, 2S7), which name a thing rather than count anything.
Money amounts are figures: a sum paid or pledged ("$500 million", "1 млрд") names one deal as well
as a troop count names one deployment, and scale words keep it apart from small counts.
"""

from __future__ import annotations

import re

_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "millions": 1_000_000, "mln": 1_000_000,
           "billion": 1_000_000_000, "billions": 1_000_000_000, "bn": 1_000_000_000, "тыс": 1000,
           "тысяч": 1000, "тысячи": 1000, "тисяч": 1000, "тисячі": 1000, "млн": 1_000_000,
           "миллиона": 1_000_000, "миллионов": 1_000_000, "мільйона": 1_000_000, "мільйонів": 1_000_000,
           "млрд": 1_000_000_000, "millionen": 1_000_000, "milliarden": 1_000_000_000, "milioni": 1_000_000,
           "milione": 1_000_000, "miliardi": 1_000_000_000, "millones": 1_000_000, "milhões": 1_000_000,
           "milliards": 1_000_000_000, "mila": 1000, "mil": 1000, "tausend": 1000}
# Korean and Japanese write scales glued to digits and may chain them: 1만1000명, 1億5000万.
_CJK_SCALES = {"만": 10_000, "万": 10_000, "억": 100_000_000, "億": 100_000_000, "천": 1000, "千": 1000,
               "백": 100}
_CJK_NUM = re.compile(r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s?([만万억億천千백])([만万억億])?"
                      r"(?:\s?(\d{1,4})([천千백만万])?(?![\d.,년年]))?")
# Letters that glue to a number make it part of a name or unit (2S7, 9M723, 170mm, S400). Only Latin
# and Cyrillic: Korean and Japanese write counters glued to digits (1,250명, 3000人), so those stay.
_L = "A-Za-zÀ-ÿА-Яа-яЁёІіЇїЄєҐґ"
# Suffixes that make a number something other than a count: ordinals and month numbers (7th, 5-й, 7일,
# 10월), percentages (a share is an estimate that collides with small counts: "30% of the unit" vs
# "30 killed") and calibres ("170-mm guns" names a weapon).
_NOT_A_COUNT = (r"(?:st|nd|rd|th|일|日|월|月|-?й|-?го)(?![" + _L + r"])"
                r"|\s?(?:%|％|percent|per\s?cent|prozent|por\s?ciento|pour\s?cent|per\s?cento|процент\w*"
                r"|відс\w*|퍼센트|パーセント|-?(?:mm|мм)(?![" + _L + r"]))")
_NUM = re.compile(
    r"(?<![" + _L + r"\d_.,])"
    r"(?>(\d{1,3}(?:[,.\u00a0\u202f ]\d{3})+(?!\d)|\d+(?:[.,]\d+)?(?!\d)))"
    r"(?:\s?(" + "|".join(sorted((re.escape(k) for k in _SCALES), key=len, reverse=True)) + r")(?![" + _L + r"]))?"
    r"(" + _NOT_A_COUNT + r")?"
    r"(?![" + _L + r"])",
    re.IGNORECASE)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
          "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
          "fifty": 50, "a hundred": 100, "ein": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
          "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "due": 2, "tre": 3, "cinque": 5, "dieci": 10}
_WORD_SCALES = r"(hundred|thousand|million|tausend|mila)"
_WORD_NUM = re.compile(r"\b(" + "|".join(_WORDS) + r")[\s-]?" + _WORD_SCALES + r"\b", re.IGNORECASE)
_WORD_SCALE = re.compile(_WORD_SCALES, re.IGNORECASE)  # in every _WORD_NUM match: text without it has none
# Weapon and model designations: a capitalised name or code, a hyphen and digits (Su-57, Hwasong-11A,
# Т-72, M-1978, 화성-11), or a short ALL-CAPS code, a space and one or two digits (KN 23). The space
# form is kept that narrow because "NK 300 troops" in a headline is a count; currency codes before a
# number are amounts.
_DESIGNATION = re.compile(
    r"(?<![\w-])(?:([A-ZÀ-ÞА-ЯЁІЇЄҐ][" + _L + r"]{0,11}|[가-힣]{1,6})[-‑]|([A-Z]{2,3}) )"
    r"(\d{1,4})(?!\d|[,.]\d)[" + _L + r"\d]*(?:/\d{1,4}(?!\d))?")  # KN-23/24: one family
_CURRENCIES = {"USD", "EUR", "KRW", "RUB", "UAH", "GBP", "JPY", "CNY", "CHF"}
# Clock times: HH:MM anywhere; H.MM or HhMM with a clock word after it or a clock preposition before;
# 10 a.m. / 10 Uhr; Korean and Japanese hours (10시, 10時) but not durations (10시간, 10時間).
# The lookahead names every character a match can start with (a digit, the first letter of a clock
# preposition, a Korean time-of-day word): one test rejects every other position, where the five
# branches would each be tried (5× faster on news text, the same matches).
_CLOCK = re.compile(
    r"(?=[\d오새밤auoàво])"
    r"(?:(?<![\d.,:])(?:[01]?\d|2[0-4])(?::[0-5]\d|\s?h\s?[0-5]\d)(?![\d:])"
    r"|(?:\b(?:at|um|alle|ore|à|a las|в|о)\s+)(?:[01]?\d|2[0-4])[.][0-5]\d(?!\d)"
    r"|(?<![\d.,])(?:[01]?\d|2[0-4])(?:[.][0-5]\d)?\s?(?:a\.m\.|p\.m\.|am\b|pm\b|uhr\b|o'clock)"
    r"|(?:(?:오전|오후|새벽|밤)\s?)?(?<!\d)\d{1,2}시(?!간)(?:\s?\d{1,2}분)?"
    r"|(?<!\d)\d{1,2}時(?!間)(?:\d{1,2}分)?)",
    re.IGNORECASE)
# Month names as whole words, in the forms dates use (nominative and genitive: "14. decembra",
# "16 декември", "15 czerwca"), so a day next to one is read as a date and not as a figure; in other
# scripts and Cyrillic as stems below. Whole words, so "mayor" in a sentence is not read as a month.
_LATIN_MONTHS = (
    "january jan janvier gennaio enero janeiro januar januari januára ledna leden január tammikuuta jaanuar "
    "jaanuaril sausio janvārī janvāris ianuarie ocak siječnja januarja januara stycznia ιανουαρίου",
    "february feb febr février febbraio febrero fevereiro februar februari februára února únor február "
    "helmikuuta veebruar veebruaril vasario februārī februarie şubat veljače februarja februara lutego "
    "φεβρουαρίου",
    "march mar mars marzo março märz maart marts marec marca března březen március maaliskuuta märts märtsil "
    "kovo martā martie ožujka marta μαρτίου",
    "april apr avril aprile abril apríla dubna duben április huhtikuuta aprill aprillil balandžio aprīlī "
    "aprilie nisan travnja aprila kwietnia απριλίου",
    "may mai maggio mayo maio mei maj mája května květen május toukokuuta gegužės maijā mayıs svibnja maja "
    "μαΐου",
    "june jun juin giugno junio junho juni júna června červen június kesäkuuta juuni juunil birželio jūnijā "
    "iunie haziran lipnja junija juna czerwca ιουνίου",
    "july jul juillet luglio julio julho juli júla července červenec július heinäkuuta juuli juulil liepos "
    "jūlijā iulie temmuz srpnja julija jula lipca ιουλίου",
    "august aug août agosto augustus augusti augusta agustus srpna srpen augusztus elokuuta augustil "
    "rugpjūčio augustā ağustos kolovoza sierpnia αυγούστου",
    "september sep sept septembre settembre septiembre setembro septembra září szeptember syyskuuta "
    "septembril rugsėjo septembrī septembrie eylül rujna wrzesnia września σεπτεμβρίου",
    "october oct octobre ottobre octubre outubro oktober oktobra októbra října říjen október lokakuuta "
    "oktoober oktoobril spalio oktobrī octombrie ekim pazdziernika października οκτωβρίου",
    "november nov novembre noviembre novembro novembra listopadu listopad marraskuuta novembril lapkričio "
    "novembrī noiembrie kasım studenoga nopember listopada νοεμβρίου",
    "december dec décembre dicembre diciembre dezembro dezember decembra decembar desember prosince prosinec "
    "joulukuuta detsember detsembril gruodžio decembrī decembrie aralık prosinca grudnia δεκεμβρίου",
)
_MONTH_NAMES = {w: n for n, words in enumerate(_LATIN_MONTHS, 1) for w in words.split()}
_CYRILLIC_MONTHS = ("январ януар јануар січ", "феврал февруар фебруар лют", "март берез", "апрел април квіт",
                    "мая май мај травн", "июн юни јун червн", "июл юли јул липн", "август серп",
                    "сентябр септемв септемб верес", "октябр октомв октоб жовт", "ноябр ноемв новемб листопад",
                    "декабр декемв децемб груд")
# English month names that are also everyday words: "troops may 12…" (modal), "march" (verb). One rule:
# such a word is a month only when written "May" after its day ("5 May"; lowercase "12 may be" is the
# modal), or before its day when a date preposition precedes it ("on May 5", "since march 3") or a
# comma, year or ordinal follows the day ("May 5, 2024", "May 5 2024", "May 5th").
# Capitalisation alone does not decide: "May" opens sentences and Title Case headlines.
_COMMON_WORD_MONTHS = {"may", "march"}
_DATE_PREPOSITION = re.compile(r"\b(?:on|since|until|till|by|from|before|after|monday|tuesday|wednesday|thursday"
                               r"|friday|saturday|sunday),?\s+$", re.IGNORECASE)
_DAY_TAIL = re.compile(r"(?:,|\s+(?:19|20)\d\d\b|st\b|nd\b|rd\b|th\b)")
_MONTH_WORD = r"([^\W\d_]{3,})"  # any letters: month_of decides
_DAY_MONTH = re.compile(r"(?<!\d)(\d{1,2})\.?\s+(?:de\s+)?" + _MONTH_WORD, re.IGNORECASE)
# Tried only where a run of letters starts: from inside a run it cannot match unless it also
# matches from the run's start, which finditer reaches first (the same matches, ~4× faster).
_MONTH_DAY = re.compile(r"(?<![^\W\d_])" + _MONTH_WORD + r"\.?\s+(\d{1,2})(?!\d|[,.]\d)", re.IGNORECASE)
_CJK_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*[월月]\s*(\d{1,2})\s*[일日]")
_ISO_DATE = re.compile(r"(?<![\d.-])(?:19|20)\d\d-(\d\d)-(\d\d)(?!\d|[.-]\d)")


def month_of(word: str) -> int | None:
    w = word.casefold()
    if w in _MONTH_NAMES:
        return _MONTH_NAMES[w]
    if w.startswith(("майор", "мајор")):  # the rank (major), not May: "5 майоров"
        return None
    for n, stems in enumerate(_CYRILLIC_MONTHS, 1):
        if any(w.startswith(s) for s in stems.split()) and len(w) <= 9:
            return n
    return None


def _is_date(text: str, m: re.Match[str], word: str, day_first: bool) -> bool:
    """Whether a month word next to a day number is a date (see _COMMON_WORD_MONTHS)."""
    if word.casefold() not in _COMMON_WORD_MONTHS:
        return True
    if day_first:
        return word[0].isupper()
    return bool(_DATE_PREPOSITION.search(text[:m.start()]) or _DAY_TAIL.match(text, m.end()))


def dates(text: str) -> tuple[set[str], list[tuple[int, int]]]:
    """Month-day mentions as "MM-DD", and their spans (so their digits are not read as figures)."""
    found: set[str] = set()
    spans: list[tuple[int, int]] = []
    for rx in (_CJK_DATE, _ISO_DATE):
        for m in rx.finditer(text):
            if 1 <= int(m.group(1)) <= 12 and 1 <= int(m.group(2)) <= 31:
                found.add(f"{int(m.group(1)):02d}-{int(m.group(2)):02d}")
                spans.append((m.end() - 5, m.end()) if rx is _ISO_DATE else m.span())  # its year is a year
    for rx, day_first in ((_DAY_MONTH, True), (_MONTH_DAY, False)):
        for m in rx.finditer(text):
            day, word = (m.group(1), m.group(2)) if day_first else (m.group(2), m.group(1))
            month = month_of(word)
            if month and 1 <= int(day) <= 31 and _is_date(text, m, word, day_first):
                found.add(f"{month:02d}-{int(day):02d}")
                spans.append(m.span())
    return found, spans


def _designations(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in _DESIGNATION.finditer(text):
        name, code, digits = m.groups()
        if code in _CURRENCIES or (code and len(digits) > 2):
            continue
        if name and re.fullmatch(r"(19|20)\d\d", digits) and not name.isupper():
            continue  # "Mid-2024", "Post-2014": a year; model codes with year-like numbers are ALL CAPS (M-1978)
        spans.append(m.span())
    return spans


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def _value(digits: str, scale: str | None) -> float | None:
    compact = re.sub(r"[\u00a0\u202f ]", "", digits)
    if re.fullmatch(r"\d{1,3}(?:[,.]\d{3})+", compact):
        base = float(re.sub(r"[,.]", "", compact))  # 12,000 / 3.000 / 11 000: thousands separators
    else:
        try:
            base = float(compact.replace(",", "."))  # 1.5 / 1,5: a decimal
        except ValueError:
            return None
    return base * _SCALES.get((scale or "").casefold(), 1)


def numbers(text: str) -> tuple[set[str], set[int], set[int]]:
    """dates(text)[0], figures(text) and years(text), reading the dates and designations once."""
    found, spans = dates(text)
    designations = _designations(text)
    return found, _figures(text, spans, designations), _years(text, designations)


def figures(text: str) -> set[int]:
    """Significant figures (≥ 10, not a year, date, clock time, ordinal, percentage or designation)."""
    return _figures(text, dates(text)[1], _designations(text))


def _figures(text: str, date_spans: list[tuple[int, int]], designations: list[tuple[int, int]]) -> set[int]:
    spans = date_spans + [m.span() for m in _CLOCK.finditer(text)] + designations
    plain = _mask(text, spans)
    out: set[int] = set()
    read: list[tuple[int, int]] = []
    for m in _CJK_NUM.finditer(plain):
        unit = _CJK_SCALES[m.group(2)] * _CJK_SCALES.get(m.group(3) or "", 1)  # 5천만: 5 × 1000 × 10,000
        rest = int(m.group(4) or 0) * _CJK_SCALES.get(m.group(5) or "", 1)  # 1만 2000: the smaller part
        part_of_it = rest < unit  # else a number of its own (1만 2024년), read below
        out.add(int(float(m.group(1).replace(",", "")) * unit + (rest if part_of_it else 0)))
        read.append((m.start(), m.end() if part_of_it or not m.group(4) else m.start(4)))
    plain = _mask(plain, read)
    for m in _WORD_NUM.finditer(plain) if _WORD_SCALE.search(plain) else ():
        out.add(_WORDS[m.group(1).casefold()] * _SCALES.get(m.group(2).casefold(), 1000))
    for m in _NUM.finditer(plain):
        digits, scale, not_a_count = m.group(1), m.group(2), m.group(3)
        if not_a_count:
            continue
        value = _value(digits, scale)
        if value is None:
            continue
        if not scale and re.fullmatch(r"(19|20)\d\d", digits):
            continue  # a bare 19xx/20xx is more often a year than a count (counts get separators: 2,000)
        if value >= 10:
            out.add(int(value))
    return out


# Not a year: glued to letters or inside a longer number (12024, 1,2024, 1만2000), or a count with a
# Korean or Japanese counter (2000명, 2000人: those languages mark years with 년/年).
_YEAR = re.compile(r"(?<![" + _L + r"\d_.,만万억億천千])(19[5-9]\d|20\d\d)(?!\d|[" + _L + r",.]\d|\s?[명人])")


def years(text: str) -> set[int]:
    """Four-digit years mentioned (1950-2099): a report is not older than the latest it names."""
    return _years(text, _designations(text))


def _years(text: str, designations: list[tuple[int, int]]) -> set[int]:
    return {int(m.group(1)) for m in _YEAR.finditer(_mask(text, designations))}
