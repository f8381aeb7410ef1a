"""The console sink: messages as aligned plain text on a stream (stdout by default).

Used by `deskwatch demo` and for local runs. Colour is added only for a TTY (or color=True), and
every string from a feed passes through `strip_controls` first, so a feed cannot move the cursor,
retitle the window or clear the screen of the person watching.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import TextIO

from bot.model import Link, Message, StoryCard
from bot.platforms.plain import one_line, strip_controls

WIDTH = 100  # wrap prose here; terminals are at least this wide in practice
RULE = "─"

_RESET = "\x1b[0m"
_STYLES = {
    "bold": "\x1b[1m",
    "dim": "\x1b[2m",
    "high": "\x1b[1;31m",
    "normal": "\x1b[1;33m",
    "low": "\x1b[2m",
    "url": "\x1b[36m",
    "head": "\x1b[1;7m",
}


def display_width(text: str) -> int:
    """Columns a string takes in a terminal: wide (CJK) characters count twice, marks zero."""
    width = 0
    for ch in text:
        if unicodedata.combining(ch):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def pad(text: str, columns: int) -> str:
    """Left-align `text` in `columns` terminal columns (str.ljust miscounts Hangul)."""
    return text + " " * max(columns - display_width(text), 0)


def wrap(text: str, columns: int, indent: str) -> list[str]:
    """Word-wrap by terminal columns, not characters (textwrap makes Hangul lines twice as wide).
    A word wider than a line (CJK without spaces, a long URL) is broken at the column limit."""
    room = max(columns - display_width(indent), 10)
    lines: list[str] = []
    line, used = "", 0
    for word in text.split():
        w = display_width(word)
        if line and used + 1 + w > room:
            lines.append(indent + line)
            line, used = "", 0
        while w > room and not line:  # hard-break an over-long word
            cut, cw = "", 0
            for ch in word:
                if cw + display_width(ch) > room:
                    break
                cut, cw = cut + ch, cw + display_width(ch)
            lines.append(indent + cut)
            word, w = word[len(cut):], w - cw
        if word:
            line, used = (f"{line} {word}", used + 1 + w) if line else (word, w)
    if line:
        lines.append(indent + line)
    return lines


def when(link: Link) -> str:
    """In the zone render gave the time (the destination's), named."""
    return f"{link.published:%Y-%m-%d %H:%M} {link.published.tzname() or 'UTC'}"


class ConsoleSink:
    """Prints each message as a block; refs are "console:<n>" in order of posting."""

    def __init__(self, name: str, stream: TextIO | None = None, color: bool | None = None) -> None:
        self.name = name
        # Resolved at call time, not as a default argument, so redirected stdout is honoured.
        self._stream = stream if stream is not None else sys.stdout
        if color is None:
            isatty = getattr(self._stream, "isatty", None)
            color = bool(isatty and isatty())
        self._color = color
        self._count = 0
        self.sent_markers: list[str] = []  # markers in posting order: lets the demo count repeats

    # --- Sink -----------------------------------------------------------------------------

    async def send(self, message: Message) -> str:
        self._count += 1
        ref = f"console:{self._count}"
        self.sent_markers.append(message.marker)
        self._write(self._render(message, banner=f"{message.kind.upper()}  {ref}"))
        return ref

    async def edit(self, ref: str, message: Message) -> None:
        self._write(self._render(message, banner=f"UPDATE  {one_line(ref)} (edited)"))

    async def reply(self, ref: str, message: Message) -> None:
        self._write(self._render(message, banner=f"UPDATE  reply to {one_line(ref)}"))

    def parts(self, message: Message) -> int:
        return 1

    async def find_sent(self, marker: str) -> str | None:
        # A terminal keeps no history we can read back; re-printing after a crash is harmless.
        return None

    async def close(self) -> None:
        self._stream.flush()

    # --- rendering ------------------------------------------------------------------------

    def _style(self, style: str, text: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if self._color and text else text

    def _render(self, message: Message, *, banner: str) -> str:
        lines = [self._style("head", f" {banner} "), self._style("bold", one_line(message.title))]
        if message.kind == "digest":
            lines += self._prose(message.text, indent="")
            lines += self._digest(message.stories)
        else:
            if message.text and not (message.stories and message.text == message.stories[0].summary):
                lines += self._prose(message.text, indent="")
            for card in message.stories:
                lines += self._card(card, with_title=len(message.stories) > 1)
        lines += self._fields(message.fields)
        # A terminal cannot show the chart; say it exists (Discord, Slack and the file sink carry it).
        lines += [f"  [{one_line(a.filename)}: {len(a.data) // 1024 + 1} KB, not shown here]"
                  for a in message.attachments]
        if message.code:
            lines += self._code(message.code)
        tail = [one_line(message.footer)] if message.footer.strip() else []
        tail += [f"marker {one_line(message.marker)}"] if message.marker else []
        if tail:
            lines.append(self._style("dim", " · ".join(tail)))
        return "\n".join(lines) + "\n\n"

    def _prose(self, text: str, *, indent: str) -> list[str]:
        out: list[str] = []
        for para in strip_controls(text).split("\n"):
            if para.strip():
                out += wrap(para, WIDTH, indent)
        return out

    def _card(self, card: StoryCard, *, with_title: bool) -> list[str]:
        lines: list[str] = [""]
        if with_title:
            lines.append(self._style("bold", one_line(card.title)))
        sev = self._style(card.severity, f"[{card.severity}]")
        tag = " update" if card.is_update else ""
        lines.append(f"{sev}{tag}  {len(card.links)} source(s) · {', '.join(map(one_line, card.languages))}")
        lines += self._prose(card.summary, indent="  ")
        if card.new_facts:
            lines.append("  New: " + "; ".join(one_line(f) for f in card.new_facts))
        lines.append("  Sources:")
        lines += self._sources(card.links)
        first = card.first
        rows = [
            ("First reported by", f"{one_line(first.outlet)} ({one_line(first.lang)}, {when(first)})"),
            ("Story", one_line(card.story_id)),
            ("Watch", one_line(card.watch)),
        ]
        lines += [f"  {pad(k, 18)} {v}" for k, v in rows]
        return lines

    def _sources(self, links: tuple[Link, ...]) -> list[str]:
        outlets = [one_line(link.outlet) for link in links]
        col = max((display_width(o) for o in outlets), default=0)
        out = []
        for n, (link, outlet) in enumerate(zip(links, outlets, strict=True), start=1):
            url = self._style("url", one_line(link.url)) if link.url else "(no link)"
            out.append(f"  {n:>2}. {pad(outlet, col)}  {pad(one_line(link.lang), 3)} {when(link)}  {url}")
            if link.title:
                out.append(f"      {' ' * col}  {self._style('dim', one_line(link.title))}")
        return out

    def _digest(self, cards: tuple[StoryCard, ...]) -> list[str]:
        lines: list[str] = []
        for n, card in enumerate(cards, start=1):
            sev = self._style(card.severity, f"[{card.severity}]")
            lines.append("")
            lines.append(f"{n:>3}. {sev} {self._style('bold', one_line(card.title))}")
            lines.append(f"     {', '.join(map(one_line, card.languages))} · story {one_line(card.story_id)}"
                         f" · first reported by {one_line(card.first.outlet)} ({when(card.first)})")
            for link in card.links:
                url = self._style("url", one_line(link.url)) if link.url else "(no link)"
                lines.append(f"       - {one_line(link.outlet)} · {one_line(link.lang)} · {when(link)}  {url}")
        return lines

    def _fields(self, fields: tuple[tuple[str, str], ...]) -> list[str]:
        if not fields:
            return []
        names = [one_line(k) for k, _ in fields]
        col = max(display_width(k) for k in names)
        lines = [""]
        for name, (_, value) in zip(names, fields, strict=True):
            body = strip_controls(value).split("\n")
            lines.append(f"  {pad(name, col)}  {body[0]}")
            lines += [f"  {' ' * col}  {more}" for more in body[1:]]
        return lines

    def _code(self, code: str) -> list[str]:
        bar = self._style("dim", "  │ ")
        return ["", *(f"{bar}{line}" for line in strip_controls(code).rstrip("\n").split("\n"))]

    def _write(self, text: str) -> None:
        try:
            self._stream.write(text)
        except UnicodeEncodeError:
            # An ASCII-only terminal must not crash the bot over a Korean headline.
            encoding = getattr(self._stream, "encoding", None) or "ascii"
            self._stream.write(text.encode(encoding, "replace").decode(encoding))
        self._stream.flush()
