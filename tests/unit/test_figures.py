"""Figures, dates and years on tricky text: designations, clock times, "may" the verb, scale words
and separators in the feed languages. Tables: one row per case, the text and what it must give."""

from __future__ import annotations

import pytest

from bot.core.stories.figures import dates, figures, years


@pytest.mark.parametrize(("text", "expected"), [
    # troop counts, casualties, shells: separators and scale words
    ("North Korea sent 12,000 troops to Russia.", {12000}),
    ("Около 11 000 военных КНДР прибыли в Курскую область.", {11000}),
    ("Близько 11 000 військових КНДР перебувають у Росії.", {11000}),
    ("Pyongyang shipped 1.5 million shells.", {1_500_000}),
    ("Up to 3 million rounds were delivered.", {3_000_000}),
    ("Pyongyang sent 1,5 млн снарядов.", {1_500_000}),
    ("КНДР передала 100 000 снарядов.", {100_000}),
    ("Rund 3.000 Soldaten sind gefallen.", {3000}),
    ("Nordkorea schickte 1,5 Millionen Granaten.", {1_500_000}),
    ("Circa 2 milioni di proiettili e 10 mila soldati.", {2_000_000, 10_000}),
    ("Unos 3.000 soldados norcoreanos murieron.", {3000}),
    ("Environ 12 000 soldats nord-coréens.", {12000}),
    ("About 300 killed and 2,700 wounded.", {300, 2700}),
    ("Some 6,000 workers will rebuild Kursk.", {6000}),
    ("Seoul estimates 1,250 more soldiers arrived; 3,000 killed.", {1250, 3000}),
    ("Two thousand soldiers and zwei tausend Soldaten.", {2000}),
    ("Between 10,000-12,000 troops took part.", {10000, 12000}),
    ("3 тыс. военных и 1,5 тысячи инженеров.", {3000, 1500}),
    # Korean and Japanese scales, counters glued to digits
    ("북한군 1만1000명이 파병됐다.", {11000}),
    ("북한군 약 1만 명이 파병됐다.", {10000}),
    ("북한군 1만 2000명이 추가로 파병됐다.", {12000}),
    ("병력 1,250명을 추가 파병했다.", {1250}),
    ("병력 1만 2025년 파병.", {10000}),  # the year after it is not a part of the number
    ("포탄 5천만 발, 1억5000만 달러.", {50_000_000, 150_000_000}),
    ("北朝鮮兵約1万2000人がロシアに派遣された。", {12000}),
    ("北朝鮮兵1万人と兵士3000人。", {10000, 3000}),
    # vague amounts are no figure
    ("Tens of thousands of troops and hundreds of shells.", set()),
    ("Thousands of North Korean soldiers.", set()),
    # percentages are not figures: a share collides with small counts ("30% of the unit" vs "30 killed")
    ("Casualties rose 30% in a month.", set()),
    ("Casualties rose 30 % and 12.5 percent.", set()),
    ("Потери выросли на 40 процентов.", set()),
    ("Die Verluste stiegen um 40 Prozent.", set()),
    ("사상자가 30퍼센트 늘었다.", set()),
    # money amounts are figures: a sum paid names one deal as a troop count names one deployment
    ("Russia pays $2,000 a month per soldier.", {2000}),
    ("A $500 million arms deal.", {500_000_000}),
    ("Сделка на 1 млрд долларов.", {1_000_000_000}),
    # weapon and model designations name a thing, they count nothing
    ("Russia fired KN-23 missiles at Kharkiv.", set()),
    ("Russia fired KN 23 missiles at Kharkiv.", set()),
    ("KN-23/24 ballistic missiles.", set()),
    ("Hwasong-11 missiles, also called Hwasong-11A.", set()),
    ("Su-57 and MiG-29 jets flew over Kursk.", set()),
    ("A Pantsir-S1 battery and M-1978 Koksan guns.", set()),
    ("Т-72 и Ка-52 у Курска.", set()),
    ("Т-72Б3 та Су-34 під Курськом.", set()),
    ("2S7 Pion and 170mm and 170-mm guns.", set()),
    ("Iskander-M 9M723 and S-400 systems.", set()),
    ("BM-21 Grad rockets, Tu-22M3 bombers.", set()),
    ("북한은 화성-11 미사일을 보냈다.", set()),
    ("Su-57 jets and 12,000 troops.", {12000}),
    # a short ALL-CAPS code before a count is only a designation when the number is short
    ("NK 300 troops killed.", {300}),
    ("USD 500 million for shells.", {500_000_000}),
    # clock times are not figures
    ("The strike hit at 10:30 local time.", set()),
    ("The strike hit at 9.30 a.m. and again at 10 p.m.", set()),
    ("오전 10시 공습이 있었다.", set()),
    ("공습은 10시 30분에 시작됐다.", set()),
    ("Удар был нанесён в 10:30.", set()),
    ("Удар було завдано о 10.30.", set()),
    ("Der Angriff begann um 14.30 Uhr.", set()),
    ("L'attacco è iniziato alle 10.30.", set()),
    ("El ataque empezó a las 10:30.", set()),
    ("L'attaque a commencé à 10h30.", set()),
    ("攻撃は10時30分に始まった。", set()),
    ("At 10:30 12,000 troops moved.", {12000}),
    # a duration is not a clock time
    ("72시간 동안 전투가 이어졌다.", {72}),
    # "may" the modal and "march" the verb before a number are not dates
    ("Officials say the North may 12 soldiers have been captured.", {12}),
    ("The troops march 12 km a day.", {12}),
    ("Of those, 12 may be prisoners.", {12}),
    # dates, years, ordinals are not figures
    ("On February 7, 2025, 1,250 troops arrived.", {1250}),
    ("7 февраля 2025 года прибыли 1250 военных.", {1250}),
    ("2월 7일 북한군 300명이 전사했다.", {300}),
    ("2024년 10월 북한군이 파병됐다.", set()),
    ("12月25日に部隊が移動した。", set()),
    ("The 11th Corps and the 12th Brigade; 25-го числа и 5-й батальон.", set()),
    ("In 2024 and in mid-2024, 2000 troops.", set()),
    ("The report of 2023-11-04 said 15 km.", {15}),
])
def test_figures(text: str, expected: set[int]) -> None:
    assert figures(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Troops arrived on February 7.", {"02-07"}),
    ("Feb. 7 and Nov. 4 were quiet.", {"02-07", "11-04"}),
    ("7 февраля войска прибыли.", {"02-07"}),
    ("7 лютого війська прибули.", {"02-07"}),
    ("2월 7일 병력이 도착했다.", {"02-07"}),
    ("2月7日に到着した。", {"02-07"}),
    ("Les troupes sont arrivées le 7 février.", {"02-07"}),
    ("Die Truppen kamen am 7. Februar an.", {"02-07"}),
    ("Las tropas llegaron el 7 de febrero.", {"02-07"}),
    ("Le truppe sono arrivate il 7 febbraio.", {"02-07"}),
    ("Le 7 mars, les troupes sont arrivées.", {"03-07"}),
    ("Reported 2023-11-04.", {"11-04"}),
    # "may" and "march": a month when the context says so …
    ("Troops arrived on May 5.", {"05-05"}),
    ("They arrived on may 5 at night.", {"05-05"}),
    ("Fighting has gone on since March 12.", {"03-12"}),
    ("The deadline is until May 20.", {"05-20"}),
    ("May 5, 2024 was the day.", {"05-05"}),
    ("By May 5 2024 they had left.", {"05-05"}),
    ("On Monday, May 5 they left.", {"05-05"}),
    ("May 12th was the day.", {"05-12"}),
    ("They arrived 5 May and left 12 March.", {"05-05", "03-12"}),
    ("7 мая 2024 года.", {"05-07"}),
    # … and a verb or modal otherwise
    ("May 5 troops be freed?", set()),
    ("Officials say the North may 12 soldiers have been captured.", set()),
    ("In march 12 soldiers died.", set()),
    ("Of those, 12 may be prisoners.", set()),
    ("The troops march 12 km a day.", set()),
    # month names of more languages, in the forms dates take
    ("Во извештајот од 16 декември.", {"12-16"}),  # mk
    ("Do 14. decembra je bilo ubitih okoli 200.", {"12-14"}),  # sl
    ("Dne 15. června 2025 zemřelo 30 vojáků.", {"06-15"}),  # cs
    ("Op 3 maart kwamen ze aan.", {"03-03"}),  # nl
    ("2024. december 5-én érkeztek.", {"12-05"}),  # hu: the day after the month, with a suffix
    ("Στις 14 Δεκεμβρίου 2024.", {"12-14"}),  # el
    ("Од 5 јуни до 7 јули.", {"06-05", "07-07"}),  # mk, with ј
    ("12 ekim 2024 tarihinde.", {"10-12"}),  # tr
    # not months at all
    ("5 майоров погибли.", set()),  # the rank, not May
    ("The mayor met 12 envoys.", set()),
    ("May 12,000 troops be sent?", set()),
])
def test_dates(text: str, expected: set[str]) -> None:
    assert dates(text)[0] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("In 2024 and 2025 troops fought.", {2024, 2025}),
    ("The 1950-53 war; the 2023-2024 winter.", {1950, 2023, 2024}),
    ("2024年に派遣された。", {2024}),
    ("2024년 10월 파병.", {2024}),
    ("Since mid-2024 and Mid-2025.", {2024, 2025}),
    ("Liberated in 1945; 2100 is far.", set()),  # 1950-2099 only
    ("Numbers 12024, 20245, 1,2024 and 2024.5 are not years.", set()),
    ("M-1978 Koksan guns and M-1991 rockets.", set()),  # model codes, not years
    ("병력 2000명과 兵士2000人.", set()),  # counts with a counter
    ("北朝鮮兵約1万2000人.", set()),
    ("7 мая 2024 года.", {2024}),
])
def test_years(text: str, expected: set[int]) -> None:
    assert years(text) == expected
