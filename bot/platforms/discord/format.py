"""Map a neutral Message to Discord message payloads (content + embeds), pure.

Every string from a feed is escaped here: markdown is neutralised, mentions and other `<…>`
tokens are broken with a zero-width space, and only http(s) links are emitted. Discord's limits
are named constants and every payload is built to fit them; long digests become several
messages, split between entries or links, never inside one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from bot.core import invisible
from bot.model import Link, Message, StoryCard

CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBED_TOTAL_MAX = 6000  # title + description + fields + footer + author, across one message's embeds
EMBEDS_PER_MESSAGE = 10
URL_MAX = 900  # longer links are shown as plain outlet names: a link is never cut

SUMMARY_ALERT_MAX = 700
SUMMARY_DIGEST_MAX = 200
OUTLET_MAX = 80

COLOURS = {"high": 0xC62828, "normal": 0xEF8F00, "low": 0x78909C}
COLOUR_UPDATE = 0x1E88E5
COLOUR_REPLY = 0x5C6BC0
ALLOWED_MENTIONS_NONE: dict[str, Any] = {"parse": []}  # what AllowedMentions.none() sends

Payload = dict[str, Any]  # {"content": str, "embeds": [embed dicts], "allowed_mentions": {...}}

ZWSP = "\u200b"
# Invisible characters an attacker could use to hide or, once stripped elsewhere, rebuild a token
# (the one list: core/invisible.py); control characters, tab included, become a space.
_INVISIBLE = invisible.pattern(invisible.FORMAT, invisible.DISPLAY)
_CONTROL = invisible.pattern(invisible.CONTROL, ((0x09, 0x0A), (0x0D, 0x0E)))
_MD_ALWAYS = set("\\*_~`|[]")
_LINE_START = re.compile(r"[#>\-+]|\d+\.")
_HOST = re.compile(r"[\w.\-]+(:\d{1,5})?|\[[0-9A-Fa-f:.]+\](:\d{1,5})?")
_MENTION_WORD = re.compile(r"@(everyone|here)", re.IGNORECASE)


# --- text safety -----------------------------------------------------------------------------


def clean(text: str) -> str:
    """Drop invisible and control characters (newlines survive)."""
    return _CONTROL.sub(" ", _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))


def _tokens(text: str, multiline: bool) -> list[str]:
    """Escaped units: cutting between two never splits an escape or revives a mention."""
    text = clean(text)
    if not multiline:
        text = " ".join(text.split())
    else:
        text = "\n".join(" ".join(line.split()) for line in text.split("\n")).strip("\n")
    text = _MENTION_WORD.sub(lambda m: "@" + ZWSP + m.group(1), text)
    out: list[str] = []
    line_start = True
    i = 0
    while i < len(text):
        ch = text[i]
        if line_start and (m := _LINE_START.match(text, i)):
            out.extend(["\\" + c if not c.isdigit() else c for c in m.group(0)])
            i, line_start = m.end(), False
            continue
        if ch in _MD_ALWAYS:
            out.append("\\" + ch)
        elif ch == "<":
            out.append("<" + ZWSP)  # breaks <@id>, <#id>, <@&id>, </cmd:id>, <t:…>, <:emoji:id>
        elif ch == "@" and text.startswith(ZWSP, i + 1):
            out.append("@" + ZWSP)
            i += 1
        else:
            out.append(ch)
        line_start = ch == "\n"
        i += 1
    return out


def escape(text: str, *, multiline: bool = False) -> str:
    return "".join(_tokens(text, multiline))


def fit(text: str, limit: int, *, multiline: bool = False) -> str:
    """Escape, then shorten to `limit` characters at a token boundary, ending with "…"."""
    tokens = _tokens(text, multiline)
    if sum(map(len, tokens)) <= limit:
        return "".join(tokens)
    out, size = [], 1
    for tok in tokens:
        if size + len(tok) > limit:
            break
        out.append(tok)
        size += len(tok)
    return "".join(out).rstrip() + "…"


def plain(text: str, limit: int) -> str:
    """For places Discord shows verbatim (footer, thread name): clean and shorten only."""
    text = " ".join(clean(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_url(url: str) -> str | None:
    """An http(s) URL safe inside `[text](url)`, or None when it must not be linked."""
    url = url.strip()
    if not url or _INVISIBLE.search(url) or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not _HOST.fullmatch(parts.netloc) or not parts.hostname:
        return None  # userinfo ("https://trusted@evil") or odd host characters: a trick, not a link
    keep = "/%:=&?~#+!$,;'*@._-"  # parentheses, brackets, quotes and <> get percent-encoded
    rebuilt = urlunsplit(
        (
            parts.scheme.lower(),
            parts.netloc,
            quote(parts.path, safe=keep),
            quote(parts.query, safe=keep),
            quote(parts.fragment, safe=keep),
        )
    )
    return rebuilt if len(rebuilt) <= URL_MAX else None


def link(label: str, url: str, limit: int = TITLE_MAX) -> str:
    target = safe_url(url)
    text = fit(label, limit) or "link"
    return f"[{text}]({target})" if target else text


def when(dt: datetime) -> str:
    """In the zone render gave the time (the destination's), named."""
    return f"{dt:%d %b %H:%M} {dt.tzname() or 'UTC'}"


def _source_line(src: Link) -> str:
    lang = fit(src.lang.upper(), 8) if src.lang else "?"
    return f"{link(src.outlet, src.url, OUTLET_MAX)} · {lang} · {when(src.published)}"


def embed_chars(embed: dict[str, Any]) -> int:
    """Characters Discord counts toward the 6000 limit."""
    fields = embed.get("fields", [])
    return (
        len(embed.get("title", ""))
        + len(embed.get("description", ""))
        + sum(len(f["name"]) + len(f["value"]) for f in fields)
        + len(embed.get("footer", {}).get("text", ""))
        + len(embed.get("author", {}).get("name", ""))
    )


def _footer(parts: list[str], marker: str, reserve: int = 0) -> str:
    """Footer text that always keeps the marker whole (find_sent looks for it)."""
    tail = " · ".join(p for p in (plain(marker, 200),) if p)
    head = plain(" · ".join(p for p in parts if p), FOOTER_MAX - len(tail) - reserve - 3)
    return " · ".join(p for p in (head, tail) if p)


def _payload(embeds: list[dict[str, Any]], content: str = "") -> Payload:
    return {"content": content, "embeds": embeds, "allowed_mentions": dict(ALLOWED_MENTIONS_NONE)}


# --- alerts ----------------------------------------------------------------------------------


def _alert(message: Message, card: StoryCard) -> Payload:
    update = message.kind == "update" or card.is_update
    prefix = ("New fact: " if card.new_facts else "Update: ") if update else ""
    colour = COLOUR_UPDATE if update and not card.new_facts else COLOURS.get(card.severity, COLOURS["normal"])
    embed: dict[str, Any] = {"title": prefix + fit(card.title, TITLE_MAX - len(prefix)), "color": colour}
    if headline_url := safe_url(card.headline_link.url):
        embed["url"] = headline_url
    first = f"{link(card.first.outlet, card.first.url, OUTLET_MAX)} · {when(card.first.published)}"
    langs = fit(", ".join(card.languages).upper() or "?", 200)
    fields = [
        {"name": "First reported by", "inline": True, "value": first},
        {"name": "Languages", "inline": True, "value": langs},
    ]
    if card.new_facts:
        facts = fit("\n".join("• " + f for f in card.new_facts), FIELD_VALUE_MAX, multiline=True)
        fields.append({"name": "New facts", "inline": False, "value": facts})
    fields += _fields(message.fields, FIELDS_MAX - len(fields), 2000)
    embed["fields"] = fields
    # The story id is in the marker already (find_sent needs the marker; readers need the id once).
    footer = _footer([message.footer or card.watch], message.marker)
    embed["footer"] = {"text": footer}
    stamp = message.created or card.first.published
    embed["timestamp"] = stamp.astimezone(UTC).isoformat()
    budget = min(DESCRIPTION_MAX, EMBED_TOTAL_MAX - embed_chars(embed))
    embed["description"] = _alert_description(card, budget)
    return _payload([embed])


def _alert_description(card: StoryCard, budget: int) -> str:
    summary = fit(card.summary, SUMMARY_ALERT_MAX, multiline=True) if card.summary else ""
    text = (summary + "\n\n" if summary else "") + f"**Sources ({len(card.links)})**"
    lines = ["\n• " + _source_line(src) for src in card.links]
    for shown, line in enumerate(lines):
        left_after = len(lines) - shown - 1
        # after this line there must still be room to say how many did not fit
        need = len(line) + (len(f"\n…and {left_after} more") if left_after else 0)
        if len(text) + need > budget:
            return text + f"\n…and {left_after + 1} more"
        text += line
    return text


def _fields(pairs: tuple[tuple[str, str], ...], room: int, budget: int) -> list[dict[str, Any]]:
    """At most `room` fields totalling at most `budget` characters (the rest are left out)."""
    out: list[dict[str, Any]] = []
    for key, value in pairs[: max(room, 0)]:
        name = fit(key, FIELD_NAME_MAX) or "-"
        text = fit(value, FIELD_VALUE_MAX, multiline=True) or "-"
        budget -= len(name) + len(text)
        if budget < 0:
            break
        out.append({"name": name, "value": text, "inline": len(value) < 40})
    return out


# --- digests and replies: a header, then compact story entries packed into messages -------------


def _story_units(n: int, card: StoryCard) -> list[tuple[str, str]]:
    """(joiner, text) units of one story entry; a message may break before any unit."""
    head = f"**{n}.** {link(card.title, card.headline_link.url, 200)}"
    if card.summary:
        head += "\n" + fit(card.summary, SUMMARY_DIGEST_MAX)
    units = [("\n\n", head)]
    for i, src in enumerate(card.links):
        lang = fit(src.lang.upper(), 8) if src.lang else "?"
        stamp = src.published.strftime("%d %b %H:%M")  # the digest's footer names the zone
        units.append(("\n" if i == 0 else " · ", f"{link(src.outlet, src.url, OUTLET_MAX)} {lang} {stamp}"))
    return units


def _pack(header: dict[str, Any], units: list[tuple[str, str]], budget: int) -> list[list[dict[str, Any]]]:
    """Fill embeds up to the description limit and messages up to `budget` characters."""
    messages: list[list[dict[str, Any]]] = [[header]]
    used, cur = embed_chars(header), ""
    for joiner, text in units:
        piece = joiner + text if cur else text
        if len(cur) + len(piece) <= min(DESCRIPTION_MAX, budget - used):
            cur += piece
            continue
        if cur:
            messages[-1].append({"description": cur})
            used += len(cur)
        if len(messages[-1]) >= EMBEDS_PER_MESSAGE or used + len(text) > budget:
            messages.append([])
            used = 0
        cur = text
    if cur:
        messages[-1].append({"description": cur})
    return messages


def _multi(message: Message, colour: int) -> list[Payload]:
    units = [u for n, card in enumerate(message.stories, 1) for u in _story_units(n, card)]
    reserve = len(" · 999/999")
    sample = _footer([message.footer], message.marker, reserve)
    budget = EMBED_TOTAL_MAX - len(sample) - reserve
    messages = _pack(_header(message, budget), units, budget)
    payloads = []
    for i, embeds in enumerate(messages, 1):
        part = f" · {i}/{len(messages)}" if len(messages) > 1 else ""
        for embed in embeds:
            embed["color"] = colour
        if sample or part:
            embeds[-1]["footer"] = {"text": (sample + part).lstrip(" ·")}
        payloads.append(_payload(embeds))
    return payloads


def _header(message: Message, budget: int) -> dict[str, Any]:
    embed: dict[str, Any] = {"title": fit(message.title, TITLE_MAX) or "deskwatch"}
    if message.fields:
        embed["fields"] = _fields(message.fields, FIELDS_MAX, budget // 2)
    room = min(DESCRIPTION_MAX, budget - embed_chars(embed))
    desc = fit(message.text, room, multiline=True) if message.text else ""
    if message.code and room - len(desc) > 40:
        desc = (desc + "\n" if desc else "") + "```\n" + _code(message.code, room - len(desc) - 10) + "\n```"
    if desc:
        embed["description"] = desc
    if message.created:
        embed["timestamp"] = message.created.astimezone(UTC).isoformat()
    return embed


def _code(code: str, limit: int) -> str:
    """A preformatted block: keep whole lines, and never let the text close the fence."""
    # Code blocks show text verbatim, yet mention-shaped tokens are still broken, as everywhere.
    text = _MENTION_WORD.sub(lambda m: "@" + ZWSP + m.group(1), clean(code)).replace("<", "<" + ZWSP)
    lines = text.replace("```", "`" + ZWSP + "``").split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        note = f"… ({len(lines) - i} more lines)"
        if sum(len(x) + 1 for x in out) + len(line) + 1 + len(note) > limit and i < len(lines) - 1:
            return "\n".join([*out, note])
        out.append(line)
    return "\n".join(out)[:limit]


def to_payloads(message: Message) -> list[Payload]:
    """The Discord messages (one or more) that carry `message`, in posting order. The sink posts
    the message's attachments with the first one; an image is shown in its first embed."""
    if message.kind in ("alert", "update") and message.stories:
        payloads = [_alert(message, message.stories[0])]
    else:
        payloads = _multi(message, COLOUR_REPLY if message.kind == "reply" else COLOURS["normal"])
    picture = next((a for a in message.attachments if a.content_type.startswith("image/")), None)
    if picture is not None and payloads[0]["embeds"]:
        payloads[0]["embeds"][0]["image"] = {"url": f"attachment://{picture.filename}"}
    return payloads
