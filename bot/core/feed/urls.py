"""Canonical URLs: one spelling per article link, so the same page from two feeds is one item."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

_TRACKING = frozenset(
    {"fbclid", "gclid", "yclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ref", "ref_src"}
    | {"ref_url", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "cmpid", "ncid", "soc_src", "soc_trk"}
    | {"at_medium", "at_campaign"}
)
_DEFAULT_PORT = {"http": 80, "https": 443}
_BAD_HOST = re.compile(r"[\s<>\"'`\\{}|^%]")
# A link that is canonical already but for its tracking parameters, as most feeds' are: lowercase
# http(s), a plain lowercase host (no userinfo, port or trailing dot), a path of only the
# characters quote() keeps, no fragment, and a query (if any) of plain name=value pairs, which
# canonical_url then sorts and cleans itself (tests hold the two paths equal).
_CANONICAL = re.compile(r"(https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9-])?(?:/[A-Za-z0-9/%:@!$&'()*+,;=._~-]*)?)"
                        r"(?:\?([A-Za-z0-9=&._~-]*))?")


def canonical_url(u: str) -> str:
    """http(s) URL without fragment, tracking parameters, default port or case noise; else ""."""
    m = _CANONICAL.fullmatch(u)
    if m is not None:
        base, query = m.groups()
        if base.find("/", 8) < 0:  # no path: "/"
            base += "/"
        kept = _plain_query(query) if query else ""
        if kept is not None:
            return f"{base}?{kept}" if kept else base
    return reference_canonical_url(u)


def _plain_query(query: str) -> str | None:
    """The query without tracking parameters, sorted, as urlencode writes it back (a bare name
    gets "=", as parse_qsl reads it with a blank value); None for a value holding "=" itself."""
    pairs = []
    for piece in query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        if "=" in value:
            return None
        if not (name.lower().startswith("utm_") or name.lower() in _TRACKING):
            pairs.append((name, value))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def reference_canonical_url(u: str) -> str:
    """canonical_url by urllib, for every link (the fast path's reference)."""
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
