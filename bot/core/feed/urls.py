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
