"""Every language the desk's feeds carry has the watch's core vocabulary, and it matches.

One self-written sentence per language ("North Korean soldiers were killed fighting for Russia
against Ukraine") goes through the real matcher with the item's language: North Korea (actor),
Russia's war (theatre) and the military element (force) must each be hit by a term written for
that language or its script, not only by the names under `any` (Kursk, Putin …), which the
sentences avoid on purpose.

Script notes the vocabulary relies on (bot/core/relevance/terms.py):
  * Latin-script terms apply to their own language only, so `no`/`nb` and `tl`/`fil` repeat lists.
  * Greek, Hebrew, Georgian, Armenian, Thai, Devanagari and Bengali count as "latin" there: their
    terms apply to their own language only, and accents are not folded (Greek ά ≠ α).
  * Devanagari and Bengali vowel signs (and the virama) are not word characters: "सैनिक" is read
    as स·न·क, so a term matches any word with the same consonant pieces, even across a word gap
    ("रूस के" also reads फ्रांस के, France's). Terms there are long or carry their postposition.
    Thai has no spaces and is split at its vowel marks, so Thai terms are written *as substrings*.
"""

from __future__ import annotations

from functools import cache

import pytest

from bot.config import load_settings
from bot.core.relevance.placement import read_item
from bot.core.watch import Watch
from tests.factories import REPO, item

ROLES = ("actor", "theatre", "force")

SENTENCES: dict[str, str] = {
    "en": "North Korean soldiers killed fighting for Russia against Ukraine",
    "ko": "북한군 병사들이 러시아를 위해 우크라이나와 싸우다 전사했다",
    "ru": "Северокорейские военные погибли в боях за Россию против Украины",
    "uk": "Північнокорейські солдати загинули в боях за Росію проти України",
    "de": "Nordkoreanische Soldaten im Kampf für Russland gegen die Ukraine getötet",
    "fr": "Des soldats nord-coréens tués en combattant pour la Russie contre l'Ukraine",
    "es": "Soldados norcoreanos muertos en combate por Rusia contra Ucrania",
    "pt": "Soldados norte-coreanos mortos em combate pela Rússia contra a Ucrânia",
    "it": "Soldati nordcoreani uccisi in combattimento per la Russia contro l'Ucraina",
    "pl": "Północnokoreańscy żołnierze zginęli w walkach za Rosję przeciwko Ukrainie",
    "cs": "Severokorejští vojáci padli v bojích za Rusko proti Ukrajině",
    "hr": "Sjevernokorejski vojnici poginuli u borbama za Rusiju protiv Ukrajine",
    "id": "Tentara Korea Utara tewas dalam pertempuran untuk Rusia melawan Ukraina",
    "tr": "Kuzey Koreli askerler Rusya için Ukrayna'ya karşı çatışmalarda öldürüldü",
    "ar": "مقتل جنود كوريين شماليين في القتال إلى جانب روسيا ضد أوكرانيا",
    "ja": "北朝鮮の兵士がロシア側でウクライナとの戦闘に派遣され死傷",
    "zh": "朝鲜士兵在为俄罗斯对乌克兰作战中阵亡",
    "nl": "Noord-Koreaanse soldaten gedood in gevechten voor Rusland tegen Oekraïne",
    "hu": "Észak-koreai katonák haltak meg az orosz hadsereg oldalán Ukrajnában",
    "sl": "Severnokorejski vojaki so bili ubiti v bojih za Rusijo proti Ukrajini",
    "sk": "Severokórejskí vojaci zahynuli v bojoch za Rusko proti Ukrajine",
    "sr": "Severnokorejski vojnici poginuli su u borbama za Rusiju protiv Ukrajine",
    "sr-Cyrl": "Севернокорејски војници погинули су у борбама за Русију против Украјине",
    "mk": "Севернокорејските војници загинаа во борбите за руската армија во Украина",
    "bg": "Севернокорейски войници са убити в боеве за Русия срещу Украйна",
    "ro": "Soldați nord-coreeni au fost uciși în luptele pentru Rusia împotriva Ucrainei",
    "sv": "Nordkoreanska soldater dödades i strider för Ryssland mot Ukraina",
    "da": "Nordkoreanske soldater blev dræbt i kampene for Rusland mod Ukraine",
    "no": "Nordkoreanske soldater ble drept i kamper for Russland mot Ukraina",
    "nb": "Nord-Koreas soldater er drept i krigen mellom Russland og Ukraina",
    "fi": "Pohjoiskorealaisia sotilaita kuoli taisteluissa Venäjän puolella Ukrainaa vastaan",
    "et": "Põhja-Korea sõdurid hukkusid lahingutes Venemaa eest Ukraina vastu",
    "lt": "Šiaurės Korėjos kariai žuvo mūšiuose už Rusiją prieš Ukrainą",
    "lv": "Ziemeļkorejas karavīri krita kaujās Krievijas pusē pret Ukrainu",
    "el": "Βορειοκορεάτες στρατιώτες σκοτώθηκαν σε μάχες για τη Ρωσία στην Ουκρανία",
    "vi": "Binh sĩ Triều Tiên thiệt mạng khi chiến đấu cho Nga ở Ukraine",
    "th": "ทหารเกาหลีเหนือเสียชีวิตในการสู้รบเพื่อรัสเซียในยูเครน",
    "fa": "سربازان کره شمالی در نبرد برای روسیه علیه اوکراین کشته شدند",
    "he": "חיילים צפון קוריאנים נהרגו בקרבות לצד רוסיה נגד אוקראינה",
    "hi": "उत्तर कोरियाई सैनिक रूस के लिए यूक्रेन के खिलाफ लड़ाई में मारे गए",
    "bn": "উত্তর কোরিয়ার সৈন্যরা রাশিয়ার হয়ে ইউক্রেনের বিরুদ্ধে লড়াইয়ে নিহত হয়েছে",
    "ur": "شمالی کوریا کے فوجی روس کی جانب سے یوکرین کے خلاف لڑائی میں ہلاک ہوگئے",
    "ms": "Askar Korea Utara terbunuh dalam pertempuran untuk Rusia menentang Ukraine",
    "tl": "Mga sundalo ng Hilagang Korea, napatay sa labanan para sa Russia laban sa Ukraine",
    "fil": "Nasawi ang mga sundalo ng Hilagang Korea sa labanan ng Rusya at Ukraine",
    "sw": "Wanajeshi wa Korea Kaskazini waliuawa katika mapigano ya Urusi dhidi ya Ukraine",
    "ka": "ჩრდილოეთ კორეელი ჯარისკაცები დაიღუპნენ ბრძოლებში რუსეთის მხარეს უკრაინის წინააღმდეგ",
    "hy": "Հյուսիսկորեական զինվորները զոհվել են Ռուսաստանի կողմից Ուկրաինայի դեմ մարտերում",
    "az": "Şimali Koreya əsgərləri Rusiya tərəfində Ukraynaya qarşı döyüşlərdə həlak olub",
    "uz": "Shimoliy Koreya askarlari Rossiya tomonida Ukrainaga qarshi janglarda halok bo'ldi",
    "kk": "Солтүстік Корея сарбаздары Ресей жағында Украинаға қарсы шайқаста қаза тапты",
    "mn": "Хойд Солонгосын цэргүүд Оросын талд Украины эсрэг тулаанд амь үрэгджээ",
}


@cache
def watch() -> Watch:
    return load_settings(str(REPO / "config" / "deskwatch.toml")).watches[0]


def role_hits(text: str, lang: str) -> dict[str, set[str]]:
    w = watch()
    reading = read_item(w, item(text, lang=lang))
    out: dict[str, set[str]] = {r: set() for r in ROLES}
    for p in reading.tagged("role:"):
        if p.hit.tag[5:] in out:
            out[p.hit.tag[5:]].add(p.hit.term)
    return out


def any_terms(role: str) -> set[str]:
    r = watch().role(role)
    assert r is not None
    return {t.raw for t in r.terms if t.lang == "any"}


@pytest.mark.parametrize("lang", sorted(SENTENCES))
def test_each_language_hits_actor_theatre_and_force(lang: str) -> None:
    hits = role_hits(SENTENCES[lang], lang)
    for role in ROLES:
        own = hits[role] - any_terms(role)
        assert own, f"{lang}: no {role} term of its own in {SENTENCES[lang]!r} (hits: {hits})"


@pytest.mark.parametrize("lang", sorted({k.split("-")[0] for k in SENTENCES}))
def test_each_language_has_role_terms_of_its_own(lang: str) -> None:
    assert lang in {t.lang for r in watch().roles for t in r.terms}


def test_vocabulary_of_one_language_stays_out_of_another() -> None:
    """Latin-script words are per language: the Dutch sentence read as English finds no force."""
    assert not role_hits(SENTENCES["nl"], "en")["force"]


@pytest.mark.parametrize(("lang", "text", "role"), [
    ("hu", "Megoldást keres Oroszország és Észak-Korea", "force"),  # megoldás (solution) is not megöl (kill)
    ("hu", "Nőttek az állami bevételek Észak-Koreában és Oroszországban", "force"),  # bevétel ≠ bevetés
    ("ro", "Coreea de Nord și Rusia discută despre frontiera comună", "force"),  # frontieră is not the front
    ("he", "צפון קוריאה ורוסיה: לימודי עברית בפיונגיאנג", "force"),  # עברית (Hebrew) holds ברית
    ("hi", "उत्तर कोरिया के रास्ते में कोई नहीं", "theatre"),  # रास्ते (road) reads र·स like रूस
    ("sl", "Severna Koreja se boji Rusije", "force"),  # se boji: is afraid, not "fights"
])
def test_look_alikes_in_the_same_language_do_not_hit(lang: str, text: str, role: str) -> None:
    assert not role_hits(text, lang)[role]


def test_greek_headline_in_capitals_still_names_the_states() -> None:
    """Greek accents are not folded, so unaccented capitals are listed too (ΡΩΣΙΑ, ΒΟΡΕΙΑ ΚΟΡΕΑ)."""
    hits = role_hits("ΒΟΡΕΙΑ ΚΟΡΕΑ: ΣΤΡΑΤΙΩΤΕΣ ΣΤΗ ΡΩΣΙΑ", "el")
    assert hits["actor"] and hits["theatre"] and hits["force"]
