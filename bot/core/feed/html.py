"""Feed HTML to plain text: tags gone, entities decoded, invisible characters removed, NFKC.

Idempotent (text that went through it comes out unchanged), and nothing that looks like markup
survives: what still resembles a tag or entity after a few rounds is defanged. Text without `<`
or `&` skips the HTML parser, and so does HTML of plain tags only (_strip_plain_tags);
bot/core/feed/reference.py keeps the plain path this one must equal.
"""

from __future__ import annotations

import html
import re
import unicodedata
from html.parser import HTMLParser

from bot.core import invisible

MAX_INPUT = 100_000  # html_to_text never looks further than this

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "math", "iframe", "object"})
_BLOCK = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure"}
    | {"footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p"}
    | {"pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul"}
)
# The invisible characters feed text loses (core/invisible.py): C0/C1 controls (\t and \n kept;
# \r becomes \n instead), soft hyphen, zero-width and bidi-control characters, BOM.
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (*invisible.CONTROL, *invisible.FORMAT)
# One regex pass: str.translate with a dict looks every character up, slow on non-ASCII text.
_INVISIBLE = invisible.pattern(INVISIBLE_RANGES)
_TRAILING_TAG = re.compile(r"<[A-Za-z/!?][^<>]*\Z")
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY_LIKE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")


class _TextExtractor(HTMLParser):
    """Collects text nodes; drops scripts, styles and their kin; blocks become line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK:  # <br/>; a self-closed <script/> opens nothing
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(self.skip - 1, 0)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


# A tag the fast path reads without the parser: a plain name; attributes separated by ASCII
# whitespace, each a plain name with an optional quoted or plain value; `>` or `/>`. An end tag is
# `</name>`. Within this grammar html.parser ends a tag where this does (it also reads quoted
# values whole), so both see the same text between tags; anything else goes to the parser.
_WS = "[ \t\n\r\f]"
# Possessive (`*+`): each part is followed by a character it cannot take, so giving some back
# never finds another match; it only saves the regex engine the trying.
_ATTR = rf"""{_WS}++[A-Za-z_:][-A-Za-z0-9_:.]*+(?:{_WS}*+={_WS}*+(?:"[^"]*+"|'[^']*+'|[A-Za-z0-9_.:;#%+,-]++))?+"""
_PLAIN_TAG = re.compile(rf"<(?:([A-Za-z][A-Za-z0-9]*+)(?:{_ATTR})*+{_WS}*+/?|/([A-Za-z][A-Za-z0-9]*+){_WS}*+)>")


def _strip_plain_tags(s: str) -> str | None:
    """_strip_tags without the parser, for HTML whose every `<` opens a plain tag (_PLAIN_TAG)
    other than a script or style kind: None for any other HTML. The text between tags is
    decoded as html.parser decodes it (html.unescape of each run), blocks become line breaks."""
    # One split instead of a find and a match per tag: [text, start name, end name, text, …].
    # The scan tries every position, so a `<` left in a text run is one that opens no plain tag.
    pieces = _PLAIN_TAG.split(s)
    texts = pieces[::3]
    if "<" in "".join(texts):
        return None
    parts: list[str] = []
    append = parts.append
    for i in range(1, len(pieces), 3):
        if t := texts[i // 3]:
            append(html.unescape(t))
        name = (pieces[i] or pieces[i + 1]).lower()
        if name in _SKIP:
            return None
        if name in _BLOCK:
            append("\n")
    if last := texts[-1]:
        append(html.unescape(last))
    return "".join(parts)


def _strip_tags(s: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(s)
        parser.close()
    except Exception:  # the stdlib parser can trip on broken declarations: fall back to a regex
        return html.unescape(re.sub(r"<[^>]*>?", " ", s))
    return "".join(parser.parts)


def _plain_lines(s: str) -> str:
    """Invisible characters removed, NFKC, spaces folded and empty lines dropped, line by line.

    Equal to doing each step on the whole text (reference.py): a line break is a boundary for all
    three (NFKC neither composes across one nor makes one). Line by line, most of a line's work can
    be skipped: a printable line holds no invisible character and no space but " ", an ASCII
    one is NFKC already, and one without doubled or edge spaces is folded already.
    """
    out: list[str] = []
    for line in (s.replace("\r", "\n") if "\r" in s else s).split("\n"):
        if not line:
            continue
        if not line.isprintable():
            line = _INVISIBLE.sub("", line)
        if not line.isascii():
            line = unicodedata.normalize("NFKC", line)
        if line.isprintable() and "  " not in line and line[:1] != " " and line[-1:] != " ":
            if line:
                out.append(line)
        elif line := " ".join(line.split()):
            out.append(line)
    return "\n".join(out)


def _without_trailing_tag(s: str) -> str:
    """_TRAILING_TAG.sub("", s) without scanning the text: a match can only start at the last "<"."""
    at = s.rfind("<")
    if at < 0:
        return s
    after = s[at + 1:at + 2]  # "" when the "<" ends the text: no tag opens there
    opens = after in ("/", "!", "?") or (after.isascii() and after.isalpha())
    return s[:at] if opens and ">" not in s[at:] else s


def _has_markup(s: str) -> bool:
    # Without `<` there is no tag and without `&` no entity: the parser would hand the text back.
    return "<" in s or "&" in s


def _once(s: str) -> str:
    markup = _has_markup(s)
    if not markup and s.isascii() and s.isprintable():
        # Printable ASCII holds no invisible character, NFKC leaves it as it is, and it is one
        # line: the steps below come down to folding its spaces.
        return " ".join(s.split())
    if markup:
        # a tag cut off by a length limit would otherwise come out as text
        whole = _without_trailing_tag(s)
        plain = _strip_plain_tags(whole)
        s = _strip_tags(whole) if plain is None else plain
    return _plain_lines(s)


def _defang(s: str) -> str:
    """Make leftover markup inert: `<b` → `< b`, a decodable `&name;` → `& name;`."""
    s = _TAG_LIKE.sub("< ", s)
    return _ENTITY_LIKE.sub(lambda m: m[0] if html.unescape(m[0]) == m[0] else "& " + m[0][1:], s)


def html_to_text(s: str) -> str:
    """Plain text from feed HTML: tags gone, entities decoded, NFKC, whitespace folded.

    Feeds often escape twice (`&amp;#8217;`), so decoding repeats until nothing changes; what
    still looks like markup after a few rounds is defanged so no tag ever survives.
    """
    cur = _once(s[:MAX_INPUT])
    for _ in range(3):
        # Folded NFKC text free of invisible characters is a fixed point of _once unless it holds
        # markup (NFKC makes no invisible character), and _defang changes nothing without `<`/`&`.
        if not _has_markup(cur):
            return cur
        nxt = _once(cur)
        if nxt == cur:
            break
        cur = nxt
    return _defang(cur)
