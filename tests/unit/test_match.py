"""Relevance on hand-written hard cases, and the text primitives it rests on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.relevance.match import match_item, model_of
from bot.core.relevance.terms import build_lexicon, fold, parse_term, sentences, tokenize
from bot.model import Item
from tests.unit.test_watch import config_watch

WATCH = config_watch()
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)


def item(title: str, summary: str = "", lang: str = "en") -> Item:
    return Item(key=title[:20], feed="f", source="Desk", url="", title=title, summary=summary,
                published=T0, fetched=T0, lang=lang)


RELEVANT = [
    ("en", "Pyongyang's soldiers take heavy losses near Kursk",
     "Kyiv's intelligence says hundreds of North Korean soldiers were killed or wounded this week."),
    ("en", "", "Seoul's spy agency says the DPRK has shipped more artillery shells to Russia for its war in Ukraine."),
    ("en", "Kim Jong-un pins medals on officers who fought for Russia", "State media showed the ceremony."),
    ("en", "Kim Jongun honours troops back from Russia's Kursk front", ""),  # near-miss spelling
    ("en", "North Korea ratifies mutual defence treaty with Moscow", "The pact obliges military aid."),
    ("ko", "", "러시아에 파병된 북한군이 쿠르스크 전선에서 큰 피해를 입었다고 국정원이 밝혔다."),
    ("ru", "", "Северокорейские военные участвовали в боях в Курской области, сообщил источник."),
    ("uk", "", "Північнокорейські солдати загинули під час штурму в Курській області."),
    ("de", "", "Nordkorea hat weitere Soldaten nach Russland geschickt, die an der Front kämpfen."),
    ("en", "", '"We will not stop." The words open a letter by a North Korean soldier killed in Kursk, Russia.'),
]


@pytest.mark.parametrize(("lang", "title", "summary"), RELEVANT)
def test_relevant(lang: str, title: str, summary: str) -> None:
    m = match_item(WATCH, item(title, summary, lang))
    assert m.relevant, m.reasons
    assert m.watch == WATCH.name and m.score >= model_of(WATCH).threshold


IRRELEVANT = [
    ("korean war memorial", "en", "Veterans honour the fallen of the Korean War at a new memorial wall",
     "Soldiers killed in 1950-53 were remembered in Washington."),
    ("k-pop", "en", "BTS plans a world tour after members finish military service", ""),
    ("restaurant", "en", "A Korean BBQ restaurant opens downtown", "The chef grills at the table."),
    ("missile test", "en", "North Korea test-fires a new ICBM into the sea", "Japan protested the launch."),
    ("launch at sea with a Moscow aside", "en", "North Korea fires ballistic missile into East Sea",
     "The launch came as Pyongyang deepens ties with Moscow."),
    ("war news, no DPRK", "en", "Ukrainian forces capture Russian soldiers near Kursk", "Kyiv says 40 were taken."),
    ("background mention", "en", "North Korea launches a new destroyer",
     "Kim watched the ceremony on Friday, amid reports of its troops fighting in Russia's Kursk region."),
    ("tail mention", "en", "South Korea's president meets Japan's prime minister",
     "The two leaders discussed trade and tourism. Officials also touched on North Korean troops in Russia."),
    ("tourism", "en", "Russian tourists flock to North Korea's beach resort",
     "The resort sits near a missile test site; Russian visitors praised the beaches."),
    ("prisoner swap without DPRK", "en", "Russia and Ukraine swap 200 prisoners of war", ""),
    ("DPRK civilian ties", "en", "Moscow-Pyongyang passenger train service resumes", "Tickets sell out."),
]


@pytest.mark.parametrize(("case", "lang", "title", "summary"), IRRELEVANT, ids=[c[0] for c in IRRELEVANT])
def test_irrelevant(case: str, lang: str, title: str, summary: str) -> None:
    m = match_item(WATCH, item(title, summary, lang))
    assert not m.relevant, (case, m.score, m.reasons)


def test_reasons_say_which_terms_where_and_which_exclusion() -> None:
    m = match_item(WATCH, item("Russian tourists visit North Korea's resort near a missile site"))
    text = " | ".join(m.reasons)
    assert "actor" in text and "'North Korea' in title" in text
    assert "exclusion: 'civilian Russia-DPRK ties" in text
    assert text.startswith("p ") and "model" in text


def test_background_hits_are_named_as_background() -> None:
    m = match_item(WATCH, item("North Korea launches a destroyer amid its troops in Russia"))
    assert not m.relevant
    assert any("background" in r for r in m.reasons), m.reasons


def test_title_beats_tail() -> None:
    lead = item("North Korean troops fight in Kursk, Russia", "Officials spoke on Monday.")
    tail = item("Officials spoke on Monday", "Trade was discussed. North Korean troops fight in Kursk, Russia.")
    assert match_item(WATCH, lead).score > match_item(WATCH, tail).score


# --- text primitives ---------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "folded"), [
    ("Kim Jong-un’s", "kim jong un s"),
    ("ЁЖИК", "ежик"),
    ("Corée du Nord", "coree du nord"),
    ("ＤＰＲＫ", "dprk"),
    ("ΡΩΣΙΑ Ρωσία ἀλλά", "ρωσια ρωσια αλλα"),  # Greek accents, as Latin ones
])
def test_fold(raw: str, folded: str) -> None:
    assert fold(raw) == folded


@pytest.mark.parametrize(("text", "n"), [
    ("U.S. Secretary Lloyd J. Austin spoke on Feb. 7 in Rome. He left.", 2),
    ("북한군이 파병됐다. 국정원이 밝혔다.", 2),
    ('"We go." That is what he wrote.', 2),
    ("One sentence only", 1),
])
def test_sentences(text: str, n: int) -> None:
    assert len(sentences(text)) == n


@pytest.mark.parametrize(("text", "tokens"), [
    ("Kim Jong-un's troops", ["kim", "jong", "un", "s", "troops"]),
    # Vowel signs and viramas are combining marks inside the word: it stays one token.
    ("यूक्रेन के राष्ट्रपति", ["यूक्रेन", "के", "राष्ट्रपति"]),
    ("উত্তর কোরিয়া", ["উত্তর", "কোরিয়া"]),
    ("foo_bar 2024", ["foo", "bar", "2024"]),
])
def test_tokenize_keeps_words_whole(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


@pytest.mark.parametrize(("term", "text", "found"), [
    ("North Korean*", "two north koreans were seen", True),
    ("Kim Jong Un", "Kim Jong-un spoke", True),
    ("Kim Jong Un", "Kim Jongun spoke", True),  # near miss, rapidfuzz
    ("Kim Jong Un", "Kim Jong Il spoke", False),
    ("북한", "북한군이 진격했다", True),  # Korean particle attached
    ("Курск*", "в Курской области", True),  # Russian inflection
    ("КНДР", "военные КНДР", True),
    ("北朝鮮", "北朝鮮国営メディア", True),  # no spaces in Japanese
    ("U.S.", "the U.S. said", True),
    ("DPRK", "the dprks", False),
    ("सैनिक", "उत्तर कोरियाई सैनिकों को तैनात", True),  # Hindi case ending attached
    ("सैनिक", "सेवा पूरी करके", False),  # letters of the word elsewhere are not the word
    ("युद्धबंदी", "सैकड़ों युद्धबंदियों की अदला-बदली", True),
    ("রুশ সেনা", "রুশ সেনারা", True),  # Bengali
    ("เกาหลีเหนือ", "ทหารเกาหลีเหนือในรัสเซีย", True),  # Thai: no spaces between words
])
def test_term_matching(term: str, text: str, found: bool) -> None:
    t = parse_term(term)
    assert t is not None
    lex = build_lexicon([("x", t)])
    assert bool(lex.find(tokenize(text))) is found


def test_latin_terms_apply_to_their_language_only() -> None:
    held = parse_term("Held*", "de")
    assert held is not None
    lex = build_lexicon([("x", held)])
    assert lex.find(tokenize("prisoners held in Russia"), "en") == []
    assert lex.find(tokenize("ein Held der Republik"), "de") != []
