"""Turn a parsed Entry into an Item: plain text, canonical URL, UTC time and a stable identity.

Every helper here is idempotent (applying it twice changes nothing), so a value that went
through normalisation can be normalised again safely, e.g. when a story is rebuilt from items.
Pure: the fetch time is passed in.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from bot.model import Entry, Item
from bot.settings import FeedSettings

MAX_INPUT = 100_000  # html_to_text never looks further than this
MAX_TITLE = 1_000
FUTURE_SLACK = timedelta(hours=1)  # clock skew we accept before calling a date bogus

_SKIP = frozenset({"script", "style", "noscript", "template", "svg", "math", "iframe", "object"})
_BLOCK = frozenset(
    {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption", "figure"}
    | {"footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p"}
    | {"pre", "section", "table", "tbody", "td", "th", "thead", "tr", "ul"}
)
# zero-width and bidi-control characters, soft hyphen, BOM, C0/C1 controls (\t \n kept)
_INVISIBLE_RANGES = ((0x00, 0x09), (0x0B, 0x0D), (0x0E, 0x20), (0x7F, 0xA0), (0xAD, 0xAE), (0x200B, 0x2010))
_INVISIBLE: dict[int, str | None] = {
    **{c: None for lo, hi in (*_INVISIBLE_RANGES, (0x202A, 0x202F), (0x2060, 0x2070)) for c in range(lo, hi)},
    0xFEFF: None,
    0x0D: "\n",
}
_TRAILING_TAG = re.compile(r"<[A-Za-z/!?][^<>]*\Z")
_TAG_LIKE = re.compile(r"<(?=[A-Za-z/!?])")
_ENTITY_LIKE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);?")

_TRACKING = frozenset(
    {"fbclid", "gclid", "yclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ref", "ref_src"}
    | {"ref_url", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "cmpid", "ncid", "soc_src", "soc_trk"}
    | {"at_medium", "at_campaign"}
)
_DEFAULT_PORT = {"http": 80, "https": 443}
_BAD_HOST = re.compile(r"[\s<>\"'`\\{}|^%]")
_LABEL = re.compile(r"^(?:breaking|update|updated|exclusive|live|video|watch|photos?)\s*[:|-]\s*")
_GENERIC = frozenset({"live updates", "breaking news", "latest news", "top stories", "news in brief", "untitled"})
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


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


def _strip_tags(s: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(s)
        parser.close()
    except Exception:  # the stdlib parser can trip on broken declarations: fall back to a regex
        return html.unescape(re.sub(r"<[^>]*>?", " ", s))
    return "".join(parser.parts)


def _fold(s: str) -> str:
    lines = (" ".join(line.split()) for line in s.split("\n"))
    return "\n".join(line for line in lines if line)


def _once(s: str) -> str:
    # a tag cut off by a length limit would otherwise come out as text
    text = _strip_tags(_TRAILING_TAG.sub("", s)).translate(_INVISIBLE)
    return _fold(unicodedata.normalize("NFKC", text))


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
        nxt = _once(cur)
        if nxt == cur:
            break
        cur = nxt
    return _defang(cur)


def canonical_url(u: str) -> str:
    """http(s) URL without fragment, tracking parameters, default port or case noise; else ""."""
    try:
        parts = urlsplit(u.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return ""
    if scheme not in _DEFAULT_PORT or not host or _BAD_HOST.search(host):
        return ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORT[scheme]) else f"{host}:{port}"
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = sorted((k, v) for k, v in pairs if not (k.lower().startswith("utm_") or k.lower() in _TRACKING))
    return urlunsplit((scheme, netloc, path, urlencode(kept), ""))


def _title_words(title: str) -> str:
    text = html_to_text(title).casefold()
    text = _LABEL.sub("", " ".join(text.split()))
    return " ".join(re.sub(r"[^\w\s]|_", " ", text).split())


def title_hash(title: str) -> str:
    """Hash of the normalised title; "" when it is too short or generic to name one article."""
    words = _title_words(title)
    long_cjk = len(_CJK.findall(words)) >= 12  # Chinese and Japanese titles have no spaces
    if words in _GENERIC or len(words) < 12 or (len(words.split()) < 4 and not long_cjk):
        return ""
    return hashlib.sha256(words.encode()).hexdigest()[:32]


def item_key(feed: str, guid: str | None, url: str, title: str, summary: str) -> str:
    """Primary identity: the GUID (scoped to its feed), else the canonical URL, else the text."""
    if guid and guid.strip():
        kind, basis = "guid", f"{feed}\n{guid.strip()}"
    elif url:
        kind, basis = "url", url
    else:
        kind, basis = "text", f"{feed}\n{title}\n{summary}"
    return f"{kind}:{hashlib.sha256(basis.encode('utf-8', 'replace')).hexdigest()[:32]}"


def _language(tag: str | None) -> str:
    primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return primary if primary.isascii() and primary.isalpha() and 2 <= len(primary) <= 3 else ""


def _published(entry: Entry, fetched: datetime) -> tuple[datetime, bool]:
    if entry.published is None:
        return fetched, False
    when = entry.published
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return (fetched, True) if when > fetched + FUTURE_SLACK else (when, True)


def normalize_entry(entry: Entry, feed: FeedSettings, fetched: datetime) -> Item:
    """One Entry → one Item. Never raises on odd data; a missing date becomes the fetch time."""
    title = " ".join(html_to_text(entry.title).split())[:MAX_TITLE]
    summary = html_to_text(entry.summary)
    if not title and summary:  # title-less posts (microblogs) still need a headline
        title = " ".join(summary.split())[:200]
    url = canonical_url(entry.link or "")
    published, dated = _published(entry, fetched)
    return Item(
        key=item_key(feed.name, entry.guid, url, title, summary),
        feed=feed.name,
        source=feed.outlet,
        url=url,
        title=title,
        summary=summary,
        published=published,
        fetched=fetched,
        lang=_language(entry.lang) or _language(feed.language) or feed.language,
        tier=feed.tier,
        guid=entry.guid,
        title_hash=title_hash(entry.title),
        dated=dated,
    )
