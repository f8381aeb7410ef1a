"""A local feed server on 127.0.0.1 (port 0) with one behaviour per path, for tests and benchmarks.

    async with FeedServer() as server:
        url = server.feed("/a.xml", make_rss("A", 3))
        server.rate_limited("/busy", retry_after="120")
        ... fetch ...
        assert server.hits["/a.xml"] == 1

Every request is counted and its headers recorded. `latency` delays every response.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_rss(title: str, items: int, *, start: int = 0, lang: str = "en", base: str = "https://example.org") -> bytes:
    """An RSS 2.0 feed with `items` synthetic entries (newest first), each with guid, link and date."""
    rows = []
    for n in range(start + items - 1, start - 1, -1):
        when = format_datetime(BASE_TIME + timedelta(minutes=n))
        rows.append(
            f"<item><title>{escape(title)} report number {n} on the border situation</title>"
            f"<link>{base}/{escape(title)}/{n}?utm_source=rss</link><guid>{base}/{escape(title)}/{n}</guid>"
            f"<pubDate>{when}</pubDate><description>&lt;p&gt;Summary {n} of {escape(title)}.&lt;/p&gt;"
            "</description></item>"
        )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel><title>{escape(title)}</title>'
        f"<link>{base}/</link><language>{lang}</language><ttl>15</ttl>{''.join(rows)}</channel></rss>"
    ).encode()


HTML_PAGE = b"<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><p>Not a feed.</p></body></html>"
MALFORMED_RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title>'
    b"<item><title>First report</title><guid>b-1</guid></item>"
    b"<item><title>Second report <b>unclosed</title><guid>b-2</guid></item>"
)


class FeedServer:
    """Register behaviours by path, then point a Fetcher at `url(path)`."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._routes: dict[str, Handler] = {}
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        self._server = TestServer(app, host="127.0.0.1", port=0)

    async def __aenter__(self) -> FeedServer:
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._server.close()

    def url(self, path: str) -> str:
        return str(self._server.make_url(path))

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.requests.append((request.path, dict(request.headers)))
        if self.latency:
            await asyncio.sleep(self.latency)
        handler = self._routes.get(request.path)
        return await handler(request) if handler else web.Response(status=404, text="no such feed")

    def route(self, path: str, handler: Handler) -> str:
        """Any custom behaviour; returns the full URL."""
        self._routes[path] = handler
        return self.url(path)

    # --- behaviours ------------------------------------------------------------------------------

    def feed(
        self,
        path: str,
        body: bytes,
        *,
        etag: str | None = '"v1"',
        last_modified: str | None = "Sat, 01 Mar 2025 12:00:00 GMT",
        headers: dict[str, str] | None = None,
        gzip_body: bool = False,
    ) -> str:
        """A normal feed with validators; answers 304 when the client's validators match."""

        async def handler(request: web.Request) -> web.StreamResponse:
            out: dict[str, str] = {"Content-Type": "application/rss+xml", **(headers or {})}
            if etag:
                out["ETag"] = etag
            if last_modified:
                out["Last-Modified"] = last_modified
            inm, ims = request.headers.get("If-None-Match"), request.headers.get("If-Modified-Since")
            if (etag and inm == etag) or (not inm and last_modified and ims == last_modified):
                return web.Response(status=304, headers=out)
            data = body
            if gzip_body:
                data, out["Content-Encoding"] = gzip.compress(body), "gzip"
            return web.Response(body=data, headers=out)

        return self.route(path, handler)

    def status(self, path: str, code: int, *, headers: dict[str, str] | None = None, body: bytes = b"") -> str:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=code, headers=headers, body=body or b"error")

        return self.route(path, handler)

    def rate_limited(self, path: str, retry_after: str = "120") -> str:
        return self.status(path, 429, headers={"Retry-After": retry_after})

    def slow(self, path: str, body: bytes, delay: float) -> str:
        async def handler(request: web.Request) -> web.StreamResponse:
            await asyncio.sleep(delay)
            return web.Response(body=body, content_type="application/rss+xml")

        return self.route(path, handler)

    def drip(self, path: str, body: bytes, per_byte: float = 1.0) -> str:
        """Sends one byte every `per_byte` seconds: only a total timeout stops it."""

        async def handler(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            await resp.prepare(request)
            for i in range(len(body)):
                await resp.write(body[i : i + 1])
                await asyncio.sleep(per_byte)
            await resp.write_eof()
            return resp

        return self.route(path, handler)

    def oversized(self, path: str, size: int, *, declare_length: bool = True) -> str:
        """`size` bytes, with a Content-Length header or streamed chunked without one."""
        chunk = b"<!-- padding -->" * 4096

        async def handler(request: web.Request) -> web.StreamResponse:
            resp = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            if declare_length:
                resp.content_length = size
            else:
                resp.enable_chunked_encoding()
            await resp.prepare(request)
            sent = 0
            try:
                while sent < size:
                    part = chunk[: size - sent]
                    await resp.write(part)
                    sent += len(part)
            except (ConnectionResetError, ConnectionError):
                pass  # the client hung up at its cap, as it should
            return resp

        return self.route(path, handler)

    def gzip_bomb(self, path: str, size: int = 50_000_000, *, encoding: str = "gzip") -> str:
        """A small compressed body that inflates to `size` bytes of spaces inside an RSS root."""
        comp = zlib.compressobj(9, zlib.DEFLATED, 31 if encoding == "gzip" else 15)
        parts = [comp.compress(b'<rss version="2.0"><channel>')]
        block = b" " * 1_000_000
        parts += [comp.compress(block) for _ in range(size // len(block))]
        data = b"".join([*parts, comp.compress(b"</channel></rss>"), comp.flush()])

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(
                body=data, headers={"Content-Type": "application/rss+xml", "Content-Encoding": encoding}
            )

        return self.route(path, handler)

    def html(self, path: str) -> str:
        return self.feed(path, HTML_PAGE, etag=None, last_modified=None, headers={"Content-Type": "text/html"})

    def malformed(self, path: str) -> str:
        return self.feed(path, MALFORMED_RSS, etag=None, last_modified=None)

    def redirect(self, path: str, to: str, code: int = 301) -> str:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=code, headers={"Location": to})

        return self.route(path, handler)

    def redirect_loop(self, path: str) -> str:
        """`path` → `path/again` → `path` …"""
        self.redirect(f"{path}/again", path, 302)
        return self.redirect(path, f"{path}/again", 302)

    def synthetic_feeds(self, n: int, m: int, *, prefix: str = "/bench") -> list[str]:
        """Register N normal feeds of M items each (for benchmarks); returns their URLs."""
        return [self.feed(f"{prefix}/{i}.xml", make_rss(f"feed{i}", m), etag=f'"b{i}"') for i in range(n)]


def request_headers(server: FeedServer, path: str) -> list[dict[str, Any]]:
    """Headers of every request the server saw for `path`, oldest first."""
    return [h for p, h in server.requests if p == path]
