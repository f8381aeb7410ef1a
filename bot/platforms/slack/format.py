"""Map a neutral `Message` to Slack Block Kit payloads, within Slack's limits. Pure.

Every string from a feed is escaped (`&`, `<`, `>`) and stripped of invisible characters, so no
feed can mention @channel, a user or a group, or disguise a link; only http(s) URLs become links.
Long digests are split across several payloads; a link is never cut in half.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.core import invisible
from bot.model import Link, Message, StoryCard

MAX_BLOCKS = 50  # blocks per message
MAX_SECTION_TEXT = 3000  # chars of one section's text
MAX_FIELD_TEXT = 2000  # chars of one section field
MAX_FIELDS = 10  # fields per section
MAX_HEADER_TEXT = 150  # chars of a header's plain text
MAX_CONTEXT_ELEMENTS = 10  # elements per context block
MAX_TEXT = 40_000  # chars of the top-level `text`
FALLBACK_TEXT = 3000  # our own cap on `text`: it is only a notification preview
MAX_URL = 2000  # longer URLs are shown as plain outlet names rather than links
MAX_LINK_LABEL = 200

# Invisible or direction-changing characters a feed could use to disguise text or a link, plus
# control characters other than newline and tab (the one list: core/invisible.py).
_INVISIBLE = invisible.pattern(invisible.FORMAT, invisible.DISPLAY, invisible.CONTROL, ((0x0D, 0x0E),))


@dataclass(frozen=True)
class SlackPayload:
    """One Slack message: Block Kit blocks (already validated dicts) plus the fallback text."""

    text: str
    blocks: tuple[dict[str, Any], ...]

    def kwargs(self, *, unfurl: bool = False) -> dict[str, Any]:
        """Arguments for chat.postMessage / a webhook send."""
        return {
            "text": self.text,
            "blocks": list(self.blocks),
            "unfurl_links": unfurl,
            "unfurl_media": unfurl,
        }


def clean(text: str) -> str:
    """Drop zero-width, bidi-override and control characters."""
    return _INVISIBLE.sub("", text)


def escape(text: str) -> str:
    """Plain feed text -> Slack text that cannot form a mention, link or command."""
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """Escape, then cut the plain text (never an entity) so the escaped result fits `limit`."""
    out = escape(text)
    if len(out) <= limit:
        return out
    raw = clean(text)
    # The longest prefix whose escaped form fits with the ellipsis (escaping only lengthens, so
    # no prefix longer than `limit` can fit).
    lo, hi = 0, min(len(raw), limit)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(escape(raw[:mid]).rstrip()) + 1 <= limit:
            lo = mid
        else:
            hi = mid - 1
    return escape(raw[:lo]).rstrip() + "…"


def label(text: str, limit: int = MAX_LINK_LABEL) -> str:
    """A link label on one line, cut after a whole word with an ellipsis when it is too long."""
    text = " ".join(clean(text).split())
    out = fit(text, limit)
    if not out.endswith("…") or len(out) <= 1:
        return out
    body = out[:-1]
    space = body.rfind(" ")  # an entity (&amp;) holds no space: cutting here never splits one
    if space > limit * 0.6:
        body = body[:space]
    return body.rstrip(" ,:.-") + "…"


def safe_url(url: str) -> str | None:
    """An http(s) URL made safe inside `<url|label>`, or None when it must not be a link."""
    url = clean(url).strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(c in parts.netloc for c in '|<> "\\'):
        return None
    try:
        netloc = parts.netloc.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    # Percent-encode what would end the link or start its label; keep existing %-escapes.
    path, query, frag = (quote(p, safe="/:@!$&'()*+,;=%~-._?") for p in (parts.path, parts.query, parts.fragment))
    safe = urlunsplit((parts.scheme.lower(), netloc, path, query, frag)).replace("&", "&amp;")
    return safe if len(safe) <= MAX_URL else None


def link(url: str, title: str) -> str:
    safe = safe_url(url)
    text = label(title)
    return f"<{safe}|{text}>" if safe else text


def when(at: datetime) -> str:
    """A date Slack shows in each reader's own time zone; the fallback text (notifications, old
    clients) is in the zone render gave the time: the destination's."""
    fallback = f"{at:%Y-%m-%d %H:%M} {at.tzname() or 'UTC'}"
    return f"<!date^{int(at.timestamp())}^{{date_short}} {{time}}|{fallback}>"


def source_line(src: Link) -> str:
    shown = src.title or src.outlet
    meta = f"{fit(src.outlet, 100)} · {fit(src.lang, 10)} · {when(src.published)}"
    return f"• {link(src.url, shown)} — {meta}"


def pack(lines: Iterable[str], limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Join whole lines into chunks of at most `limit` chars; a line (or link) is never split."""
    out: list[str] = []
    chunk = ""
    for line in lines:
        line = line[:limit]  # lines are built to fit; this is only a backstop
        if chunk and len(chunk) + 1 + len(line) > limit:
            out.append(chunk)
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        out.append(chunk)
    return out


def sections(lines: Iterable[str]) -> list[Block]:
    return [_section(chunk) for chunk in pack(lines)]


def _section(text: str) -> SectionBlock:
    # verbatim: Slack must not auto-link channel names or parse bare mentions in feed text.
    return SectionBlock(text=MarkdownTextObject(text=text, verbatim=True))


def _context(*texts: str) -> ContextBlock:
    elements = [MarkdownTextObject(text=t, verbatim=True) for t in texts if t][:MAX_CONTEXT_ELEMENTS]
    return ContextBlock(elements=elements)


def _header(title: str) -> HeaderBlock:
    return HeaderBlock(text=PlainTextObject(text=fit(title or "deskwatch", MAX_HEADER_TEXT), emoji=False))


def _card_meta(card: StoryCard) -> ContextBlock:
    return _context(
        f"Watch: *{fit(card.watch, 200)}*",
        f"First reported by {fit(card.first.outlet, 200)} ({when(card.first.published)})",
        f"Languages: {fit(', '.join(card.languages), 200)}",
        f"Story `{fit(card.story_id, 100)}`",
    )


def _alert_blocks(message: Message) -> list[Block]:
    blocks: list[Block] = []
    for card in message.stories[:1]:
        summary = card.summary or message.text
        if summary:
            blocks.append(_section(fit(summary, MAX_SECTION_TEXT)))
        if card.new_facts:
            blocks += sections(["*New in this update:*", *(f"• {fit(f, 500)}" for f in card.new_facts)])
        blocks.append(_card_meta(card))
        blocks.append(DividerBlock())
        blocks += sections(source_line(s) for s in card.links)
    if not message.stories and message.text:
        blocks.append(_section(fit(message.text, MAX_SECTION_TEXT)))
    return blocks


def _story_lines(card: StoryCard) -> list[str]:
    """A digest entry: the title linking to the first report, a short summary, every source."""
    head = f"*{link(card.headline_link.url, card.title)}*"
    lines = [head, fit(card.summary, 600)] if card.summary else [head]
    lines += [f"   {link(s.url, s.outlet)} ({fit(s.lang, 10)}, {when(s.published)})" for s in card.links]
    return lines


def _digest_blocks(message: Message) -> list[Block]:
    blocks: list[Block] = []
    if message.text:
        blocks.append(_section(fit(message.text, MAX_SECTION_TEXT)))
    for card in message.stories:
        blocks += sections(_story_lines(card))  # usually one section per story
    return blocks


def _reply_blocks(message: Message) -> list[Block]:
    blocks: list[Block] = []
    if message.text:
        blocks.append(_section(fit(message.text, MAX_SECTION_TEXT)))
    pairs = [f"*{fit(k, 200)}*\n{fit(v, MAX_FIELD_TEXT - 210)}" for k, v in message.fields]
    for i in range(0, len(pairs), MAX_FIELDS):
        blocks.append(
            SectionBlock(fields=[MarkdownTextObject(text=p, verbatim=True) for p in pairs[i : i + MAX_FIELDS]])
        )
    if message.code:
        blocks += _code_sections(message.code)
    for card in message.stories:
        blocks += sections(_story_lines(card))
    return blocks


def _code_sections(code: str) -> list[Block]:
    fence = 8  # the two ``` fences and their newlines
    lines = [fit(line, MAX_SECTION_TEXT - fence) for line in code.splitlines()]
    return [_section(f"```\n{chunk}\n```") for chunk in pack(lines, MAX_SECTION_TEXT - fence)]


def _fallback(message: Message) -> str:
    first = message.stories[0].summary if message.stories else message.text
    return fit(f"{message.title}\n{first}".strip(), min(FALLBACK_TEXT, MAX_TEXT))


def _split(title: str, body: Sequence[Block], footer: Block | None) -> list[list[Block]]:
    """Header + body (+ footer) into messages of at most MAX_BLOCKS blocks each."""
    room = MAX_BLOCKS - 1  # every message opens with a header or a "part n/m" line
    parts = [list(body[i : i + room]) for i in range(0, len(body), room)] or [[]]
    if footer is not None:
        if len(parts[-1]) < room:
            parts[-1].append(footer)
        else:
            parts.append([footer])
    out = [[_header(title), *parts[0]]]
    for n, part in enumerate(parts[1:], start=2):
        out.append([_context(f"{fit(title, 200)} — part {n} of {len(parts)}"), *part])
    return out


def to_payloads(message: Message) -> list[SlackPayload]:
    """The Slack messages for `message`: one for alerts/updates/replies, one or more for digests."""
    if message.kind in ("alert", "update"):
        body = _alert_blocks(message)
    elif message.kind == "digest":
        body = _digest_blocks(message)
    else:
        body = _reply_blocks(message)
    footer = _context(fit(message.footer, 2000)) if message.footer else None
    title = message.title
    if message.kind == "update" and not title.lower().startswith("update"):
        title = f"Update: {title}"
    if message.kind != "digest" and len(body) + (footer is not None) > MAX_BLOCKS - 1:
        keep = MAX_BLOCKS - 2 - (footer is not None)
        more = _context(f"… {len(body) - keep} more sections of sources not shown")
        body = [*body[:keep], more]
    text = _fallback(message)
    # to_dict() runs slack_sdk's own validators, so a limit we missed fails loudly here.
    return [SlackPayload(text=text, blocks=tuple(b.to_dict() for b in part)) for part in _split(title, body, footer)]
