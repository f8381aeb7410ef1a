"""One list of invisible characters (core/invisible.py): feed cleaning, Discord and Slack agree."""

from __future__ import annotations

import pytest

from bot.core import invisible
from bot.core.feed.html import html_to_text
from bot.platforms.discord.format import clean as discord_clean
from bot.platforms.slack.format import clean as slack_clean


def _chars(*groups: invisible.Ranges) -> list[str]:
    return [chr(c) for ranges in groups for lo, hi in ranges for c in range(lo, hi)]


@pytest.mark.parametrize("ch", _chars(invisible.FORMAT, invisible.DISPLAY))
def test_every_invisible_character_is_gone_on_both_platforms(ch: str) -> None:
    text = f"Kim{ch}Jong Un"
    assert discord_clean(text) == slack_clean(text) == "KimJong Un"


@pytest.mark.parametrize("ch", _chars(invisible.FORMAT))
def test_feed_text_loses_the_format_characters(ch: str) -> None:
    assert html_to_text(f"North{ch} Korea") == "North Korea"


@pytest.mark.parametrize("ch", _chars(invisible.DISPLAY))
def test_feed_text_keeps_display_only_characters(ch: str) -> None:
    # matching sees no difference, and replay output must not change with presentation rules
    assert len(html_to_text(f"a{ch}b")) == 3  # kept (NFKC may fold a filler into another)
