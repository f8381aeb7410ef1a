"""Fetcher against the local fake feed server: every outcome, and the words it reports."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.core.feed.parse import parse_feed
from bot.fetch import Fetcher, parse_max_age, parse_retry_after
from bot.model import FeedState
from bot.settings import PollingSettings
from tests.fakes.feed_server import FeedServer, make_rss, request_headers

POLLING = PollingSettings(max_bytes=200_000, total_timeout=2.0, connect_timeout=1.0, max_redirects=3)
BODY = make_rss("Desk", 3)


@pytest.fixture
async def server() -> AsyncIterator[FeedServer]:
    async with FeedServer() as s:
        yield s


async def fetch(url: str, polling: PollingSettings = POLLING, **state: Any) -> Any:
    async with Fetcher(polling) as fetcher:
        return await fetcher.fetch(FeedState(name="f", url=url, **state))


async def test_ok_sends_our_headers_and_returns_validators(server: FeedServer) -> None:
    url = server.feed("/a.xml", BODY, headers={"Cache-Control": "public, max-age=600"})
    result = await fetch(url)
    assert (result.outcome, result.status, result.body) == ("ok", 200, BODY)
    assert (result.etag, result.last_modified) == ('"v1"', "Sat, 01 Mar 2025 12:00:00 GMT")
    assert result.body_hash == hashlib.sha256(BODY).hexdigest() and result.max_age == 600
    (headers,) = request_headers(server, "/a.xml")
    assert headers["User-Agent"] == POLLING.user_agent
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in headers


async def test_conditional_get_gives_not_modified(server: FeedServer) -> None:
    url = server.feed("/a.xml", BODY)
    first = await fetch(url)
    second = await fetch(url, etag=first.etag, last_modified=first.last_modified, body_hash=first.body_hash)
    assert (second.outcome, second.status, second.etag, second.body) == ("not-modified", 304, '"v1"', b"")
    assert request_headers(server, "/a.xml")[1]["If-None-Match"] == '"v1"'


async def test_same_body_without_validators_is_not_modified(server: FeedServer) -> None:
    url = server.feed("/plain.xml", BODY, etag=None, last_modified=None)
    result = await fetch(url, body_hash=hashlib.sha256(BODY).hexdigest())
    assert (result.outcome, result.status) == ("not-modified", 200)


async def test_gzip_body_is_inflated(server: FeedServer) -> None:
    result = await fetch(server.feed("/gz.xml", BODY, gzip_body=True))
    assert (result.outcome, result.body) == ("ok", BODY)


@pytest.mark.parametrize(
    ("retry_after", "seconds"), [("120", 120.0), ("Wed, 21 Oct 2099 07:28:00 GMT", None), ("soon", None)]
)
async def test_rate_limited(server: FeedServer, retry_after: str, seconds: float | None) -> None:
    result = await fetch(server.rate_limited("/busy", retry_after))
    assert (result.outcome, result.status) == ("rate-limited", 429)
    if retry_after.startswith("Wed"):
        assert result.retry_after is not None and result.retry_after > 10**9  # far-future date
    else:
        assert result.retry_after == seconds
    assert result.error.startswith("HTTP 429 (rate limited) from 127.0.0.1/busy")


@pytest.mark.parametrize(
    ("code", "words"), [(500, "HTTP 500 Internal Server Error from"), (404, "HTTP 404 Not Found from")]
)
async def test_http_errors(server: FeedServer, code: int, words: str) -> None:
    result = await fetch(server.status("/err", code) + "?api_key=SECRET123")
    assert (result.outcome, result.status) == ("http-error", code)
    assert result.error == f"{words} 127.0.0.1/err" and "SECRET123" not in result.error


async def test_503_with_retry_after_keeps_it(server: FeedServer) -> None:
    result = await fetch(server.status("/maint", 503, headers={"Retry-After": "600"}))
    assert (result.outcome, result.retry_after) == ("http-error", 600.0)


@pytest.mark.parametrize("behaviour", ["slow", "drip"])
async def test_timeouts(server: FeedServer, behaviour: str) -> None:
    url = server.slow("/slow", BODY, delay=5) if behaviour == "slow" else server.drip("/drip", BODY, 0.5)
    result = await fetch(url, replace(POLLING, total_timeout=0.3))
    assert (result.outcome, result.error) == ("network-error", "timed out after 0.3 s")


@pytest.mark.parametrize("declare_length", [True, False])
async def test_oversized_body_stops_at_cap(server: FeedServer, declare_length: bool) -> None:
    result = await fetch(server.oversized("/huge", 5_000_000, declare_length=declare_length))
    assert (result.outcome, result.body) == ("too-large", b"")
    assert result.error.startswith("body over 0.2 MB cap")
    assert ("server announced 5 MB" in result.error) is declare_length  # header check vs streaming


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
async def test_gzip_bomb_stops_at_decompressed_cap(server: FeedServer, encoding: str) -> None:
    result = await fetch(server.gzip_bomb("/bomb", 20_000_000, encoding=encoding))
    assert (result.outcome, result.error) == ("too-large", "body over 0.2 MB cap")


async def test_html_page_is_not_a_feed(server: FeedServer) -> None:
    result = await fetch(server.html("/page"))
    assert (result.outcome, result.error) == ("not-a-feed", "the URL returned an HTML page, not a feed")


async def test_malformed_feed_is_fetched_and_then_described_by_the_parser(server: FeedServer) -> None:
    result = await fetch(server.malformed("/broken.xml"))
    assert result.outcome == "ok"
    parsed = parse_feed(result.body, "http://127.0.0.1/broken.xml")
    assert parsed.is_feed and parsed.entries and parsed.problem


async def test_redirect_is_followed_and_reported(server: FeedServer) -> None:
    target = server.feed("/new.xml", BODY)
    result = await fetch(server.redirect("/old.xml", "/new.xml"))
    assert (result.outcome, result.final_url) == ("ok", target)


async def test_redirect_loop_and_too_many_redirects(server: FeedServer) -> None:
    loop = await fetch(server.redirect_loop("/loop"))
    assert (loop.outcome, loop.error) == ("http-error", "redirect loop at 127.0.0.1/loop")
    for i in range(5):
        server.redirect(f"/hop{i}", f"/hop{i + 1}", 302)
    chain = await fetch(server.url("/hop0"))
    assert (chain.outcome, chain.error) == ("http-error", "too many redirects (more than 3)")


async def test_connection_refused() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bind, note it, close
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert result.outcome == "network-error" and result.error.startswith("could not connect to 127.0.0.1")


class FailingResolver(AbstractResolver):
    """Every lookup fails, as for a name that does not exist (no real DNS in tests)."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


async def test_dns_failure_is_named() -> None:
    async with Fetcher(POLLING, resolver=FailingResolver()) as fetcher:
        result = await fetcher.fetch(FeedState(name="f", url="https://example.invalid/feed?token=x"))
    assert (result.outcome, result.error) == ("network-error", "DNS lookup failed for example.invalid")


@pytest.mark.parametrize("url", ["not a url", "ftp://127.0.0.1/feed", "http://"])
async def test_bad_urls_never_raise(url: str) -> None:
    result = await fetch(url)
    assert result.outcome == "network-error" and result.error


async def test_latency_and_shared_session_for_many_feeds() -> None:
    async with FeedServer(latency=0.01) as server:
        urls = server.synthetic_feeds(20, 5)
        async with Fetcher(POLLING) as fetcher:
            results = [await fetcher.fetch(FeedState(name=u, url=u)) for u in urls]
    assert {r.outcome for r in results} == {"ok"} and sum(server.hits.values()) == 20
    assert len(parse_feed(results[0].body, urls[0]).entries) == 5


@pytest.mark.parametrize(
    ("value", "seconds"), [("public, max-age=300", 300.0), ('max-age="60"', 60.0), ("no-store", None), (None, None)]
)
def test_parse_max_age(value: str | None, seconds: float | None) -> None:
    assert parse_max_age(value) == seconds


def test_parse_retry_after_date_is_relative_to_now() -> None:
    from datetime import UTC, datetime

    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Sat, 01 Mar 2025 12:10:00 GMT", now) == 600.0
    assert parse_retry_after("Sat, 01 Mar 2025 11:00:00 GMT", now) == 0.0
