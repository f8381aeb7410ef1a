"""Feed text can never mention, ping or fake a link on either platform: one table of vectors,
placed in every field of an alert, checked on what Discord and Slack would receive."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from bot.core.render import alert_message, digest_message
from bot.model import Message, Story, StorySource
from bot.platforms.discord.format import to_payloads as discord_payloads
from bot.platforms.slack.format import to_payloads as slack_payloads

T = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
VECTORS = [
    "@everyone look", "@here now", "<@123456789012345678>", "<@!123456789012345678>", "<@&987654321098765432>",
    "<#111111111111111111>", "<!channel>", "<!here>", "<!everyone>", "<!subteam^S012ABC>", "<@U012ABCDEF>",
    "<http://evil.example|trusted.example>", "[trusted.example](http://evil.example)",
    "@\u200beveryone", "@\u2060here", "<\u200b@123456789012345678>", "＠everyone", "</deskwatch:1234>",
    "<t:1700000000:R>", "`code` **bold** ||spoiler||", "javascript:alert(1)",
]
# What must never reach Discord: a live mass mention, user/role/channel mention, markdown link to
# a feed-chosen target, or a non-http link.
# (A zero-width space inside a token, as the formatter inserts, makes it plain text.)
DISCORD_BAD = re.compile(r"(?<![\\\w])@(everyone|here)\b|<@[!&]?\d+>|<#\d+>|</[\w-]+:\d+>|<t:\d+|"
                         r"(?<!\\)\]\((?!https?://)[^)]*\)|(?<!\\)\]\(http://evil", re.IGNORECASE)
# What must never reach Slack: special mentions, user/channel/usergroup mentions, a link whose
# target came from feed text.
SLACK_BAD = re.compile(r"<!(channel|here|everyone|subteam)|<@U|<#C|<http://evil", re.IGNORECASE)


def hostile_story(vector: str) -> Story:
    src = StorySource(item_key="k", outlet=f"Outlet {vector}", url="https://safe.example/a", lang="en",
                      published=T, title=f"Headline {vector}")
    return Story(id="s-0badf00d", watch="dprk-russia", title=f"Title {vector}", summary=f"Lead {vector} end.",
                 first_published=T, last_published=T, sources=(src,), score=3.0)


def texts(payload: object) -> str:
    return json.dumps(payload, ensure_ascii=False)


def messages(vector: str) -> list[Message]:
    story = hostile_story(vector)
    return [alert_message(story, marker="m", watch_title="DPRK forces in Russia"),  # config, not feed text
            digest_message([story], marker="d", title=f"digest {vector}", since=None, now=T),
            Message(kind="reply", title=f"reply {vector}", text=f"text {vector}", fields=((vector, vector),),
                    code=f"code {vector} ```")]


@pytest.mark.parametrize("vector", VECTORS)
def test_discord_payloads_are_inert(vector: str) -> None:
    for message in messages(vector):
        for payload in discord_payloads(message):
            assert payload["allowed_mentions"] == {"parse": []}
            body = json.loads(texts(payload))
            flat = texts({k: v for k, v in body.items() if k != "allowed_mentions"})
            rendered = re.sub(r"```.*?```", "", flat, flags=re.DOTALL)  # code blocks render nothing
            assert not DISCORD_BAD.search(rendered), (vector, flat[:400])
            for url in re.findall(r'"url": "([^"]+)"', flat):
                assert url.startswith(("http://", "https://")) and "evil" not in url


@pytest.mark.parametrize("vector", VECTORS)
def test_slack_payloads_are_inert(vector: str) -> None:
    for message in messages(vector):
        for payload in slack_payloads(message):
            flat = texts(payload.kwargs(unfurl=False))
            assert not SLACK_BAD.search(flat), (vector, flat[:400])
            for target in re.findall(r"<([^|>!]+)\|", flat):
                assert target.startswith(("http://", "https://")) and "evil" not in target
