"""GET one feed over a shared aiohttp session and describe the outcome as a FetchResult value.

Conditional GET (ETag / Last-Modified) and a body hash keep unchanged feeds cheap; redirects are
followed by hand so loops are named as such; bodies are read in chunks and inflated here, so a
gzip bomb stops at `max_bytes` of *decompressed* data. `fetch` never raises: errors are values,
worded for an operator, naming host and path but never the query string (it may hold a key).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.core.addresses import addresses_problem
from bot.core.feed.parse import looks_like_html
from bot.model import FeedState, FetchResult
from bot.settings import PollingSettings

CHUNK = 64 * 1024
ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
DNS_CACHE_SECONDS = 300
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


class TooLarge(Exception):
    """The body passed the byte cap (raised internally, returned as outcome "too-large")."""


def where(url: str) -> str:
    """host + path of a URL, for messages: the query string may carry an API key."""
    parts = urlsplit(url)
    return f"{parts.hostname or '?'}{parts.path or '/'}"


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP date; None when absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def parse_max_age(value: str | None) -> float | None:
    """Cache-Control max-age in seconds, or None."""
    m = _MAX_AGE.search(value or "")
    return float(m.group(1)) if m else None


def _mb(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


class _Inflater:
    """Streams a body through gzip/deflate with a hard cap on the inflated size."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap, self.size = cap, 0
        self.parts: list[bytes] = []
        self.raw = encoding in ("", "identity")
        # 32+15 accepts a gzip or zlib header; some servers send raw deflate, retried below
        self.obj = None if self.raw else zlib.decompressobj(47)
        self.started = False

    def feed(self, chunk: bytes) -> None:
        if self.obj is None:
            return self._add(chunk)
        if not self.started:
            self.started = True
            try:
                return self._add(self.obj.decompress(chunk, self.cap - self.size + 1))
            except zlib.error:
                self.obj = zlib.decompressobj(-15)
        return self._add(self.obj.decompress(chunk, self.cap - self.size + 1))

    def _add(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise TooLarge
        self.parts.append(data)

    def body(self) -> bytes:
        if self.obj is not None:
            self._add(self.obj.flush())
        return b"".join(self.parts)


class RefusedAddress(OSError):
    """A guarded host resolved to an address feeds added by chat users may not reach."""


class GuardedResolver(AbstractResolver):
    """Resolves like `inner`, then refuses private/loopback/link-local/metadata answers. aiohttp
    connects to exactly the addresses returned here, so a DNS answer that changes between the
    pre-check and the connection (rebinding) is caught too."""

    def __init__(self, inner: AbstractResolver, allow: Sequence[str]) -> None:
        self.inner = inner
        self.allow = tuple(allow)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        infos = await self.inner.resolve(host, port, family)
        problem = addresses_problem(host, [str(i["host"]) for i in infos], self.allow)
        if problem:
            raise RefusedAddress(0, problem)
        return infos

    async def close(self) -> None:
        await self.inner.close()


class Fetcher:
    """One shared session for every feed (and one for feeds added by chat users, whose every
    connection is address-checked); use as `async with Fetcher(polling) as f:`."""

    def __init__(self, polling: PollingSettings, *, resolver: AbstractResolver | None = None) -> None:
        self.polling = polling
        self._resolver = resolver  # tests inject a fake: no real DNS lookups in the suite
        self._session: aiohttp.ClientSession | None = None
        # Politeness limits are ours, taken BEFORE the timeout starts: a slow feed must not eat
        # the time budget of the feeds queued behind it on the same host.
        self._slots = asyncio.Semaphore(polling.concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._guarded: dict[tuple[str, ...], aiohttp.ClientSession] = {}

    def _new_session(self, resolver: AbstractResolver | None) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.polling.concurrency,
            limit_per_host=0,  # enforced by self._hosts
            ttl_dns_cache=DNS_CACHE_SECONDS,
            resolver=resolver,
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.polling.total_timeout, sock_connect=self.polling.connect_timeout),
            headers={
                "User-Agent": self.polling.user_agent,
                "Accept-Encoding": "gzip, deflate",
                "Accept": ACCEPT,
            },
            auto_decompress=False,  # we inflate ourselves, under the size cap
        )

    def _session_for(self, guard: Sequence[str] | None) -> aiohttp.ClientSession | None:
        if guard is None or self._session is None:
            return self._session
        key = tuple(guard)
        if key not in self._guarded:
            self._guarded[key] = self._new_session(GuardedResolver(self._resolver or DefaultResolver(), key))
        return self._guarded[key]

    async def __aenter__(self) -> Fetcher:
        self._session = self._new_session(self._resolver)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for session in [self._session, *self._guarded.values()]:
            if session is not None:
                await session.close()
        self._session = None
        self._guarded.clear()

    async def fetch(self, state: FeedState, *, guard: Sequence[str] | None = None) -> FetchResult:
        """GET the feed once. Never raises (cancellation aside).

        `guard` (for feeds added by chat users): every hop, redirects included, must resolve to
        public addresses only, except hosts in this allow-list.
        """
        host = urlsplit(state.url).hostname or "?"
        per_host = self._hosts.setdefault(host, asyncio.Semaphore(self.polling.per_host))
        async with self._slots, per_host:
            return await self._fetch(state, guard, host)

    async def _fetch(self, state: FeedState, guard: Sequence[str] | None, host: str) -> FetchResult:
        try:
            async with asyncio.timeout(self.polling.total_timeout):
                return await self._follow(state, guard)
        except TooLarge:
            return FetchResult("too-large", error=f"body over {_mb(self.polling.max_bytes)} cap")
        except aiohttp.ConnectionTimeoutError:
            return _net(f"could not connect to {host} within {self.polling.connect_timeout:g} s")
        except TimeoutError:
            return _net(f"timed out after {self.polling.total_timeout:g} s")
        except aiohttp.ClientConnectorDNSError as exc:
            if isinstance(exc.os_error, RefusedAddress):
                return FetchResult("http-error", error=f"refused: {exc.os_error.strerror}")
            return _net(f"DNS lookup failed for {host}")
        except aiohttp.ClientSSLError:
            return _net(f"TLS handshake or certificate problem with {host}")
        except aiohttp.ClientConnectorError as exc:
            reason = exc.os_error.strerror or type(exc.os_error).__name__
            return _net(f"could not connect to {host} ({reason.lower()})")
        except aiohttp.ServerDisconnectedError:
            return _net(f"{host} closed the connection before answering")
        except aiohttp.ClientPayloadError:
            return _net(f"the response body from {host} was cut short or badly framed")
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError):
            return _net(f"not a valid http(s) URL: {where(state.url)}")
        except aiohttp.ClientResponseError as exc:
            return _net(f"malformed HTTP response from {host} ({exc.message})")
        except zlib.error:
            return _net(f"the compressed body from {host} is corrupt")
        except (aiohttp.ClientError, OSError) as exc:
            return _net(f"network error talking to {host} ({type(exc).__name__})")
        except Exception as exc:  # the contract is "never raises"; say what happened in words
            return _net(f"unexpected error fetching {where(state.url)} ({type(exc).__name__})")

    async def _follow(self, state: FeedState, guard: Sequence[str] | None = None) -> FetchResult:
        session = self._session_for(guard)
        if session is None:
            raise RuntimeError("use Fetcher as an async context manager")
        headers = {}
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
        url, seen = state.url, {state.url}
        for _ in range(self.polling.max_redirects + 1):
            if guard is not None and (problem := await host_problem(url, guard, self._resolver)):
                return FetchResult("http-error", error=f"refused: {problem}")
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status not in REDIRECTS:
                    return await self._read(resp, state, url)
                location = resp.headers.get("Location", "").strip()
                target = urljoin(url, location)
                if not location or urlsplit(target).scheme not in ("http", "https"):
                    return _http(resp.status, f"HTTP {resp.status} from {where(url)} with no usable Location")
                if target in seen:
                    return _http(resp.status, f"redirect loop at {where(target)}")
                seen.add(target)
                url = target
        return _http(None, f"too many redirects (more than {self.polling.max_redirects})")

    async def _read(self, resp: aiohttp.ClientResponse, state: FeedState, url: str) -> FetchResult:
        now = _server_now(resp.headers.get("Date"))
        retry_after = parse_retry_after(resp.headers.get("Retry-After"), now)
        status, final_url = resp.status, url if url != state.url else None
        if status == 304:
            return FetchResult(
                "not-modified",
                status=304,
                etag=resp.headers.get("ETag") or state.etag,
                last_modified=resp.headers.get("Last-Modified") or state.last_modified,
                body_hash=state.body_hash,
                max_age=parse_max_age(resp.headers.get("Cache-Control")),
                final_url=final_url,
            )
        if status == 429:
            wait = f", asked to wait {retry_after:g} s" if retry_after is not None else ""
            error = f"HTTP 429 (rate limited) from {where(url)}{wait}"
            return FetchResult("rate-limited", status=429, retry_after=retry_after, error=error)
        if not 200 <= status < 300:
            reason = f" {resp.reason}" if resp.reason else ""
            error = f"HTTP {status}{reason} from {where(url)}"
            return FetchResult("http-error", status=status, retry_after=retry_after, error=error)
        cap = self.polling.max_bytes
        if resp.content_length is not None and resp.content_length > cap:
            error = f"body over {_mb(cap)} cap (server announced {_mb(resp.content_length)})"
            return FetchResult("too-large", status=status, error=error)
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            return FetchResult("http-error", status=status, error=f"unsupported Content-Encoding {encoding!r}")
        inflater, received = _Inflater(encoding, cap), 0
        async for chunk in resp.content.iter_chunked(CHUNK):
            received += len(chunk)
            if received > cap:
                raise TooLarge
            inflater.feed(chunk)
        body = inflater.body()
        result = FetchResult(
            "ok",
            status=status,
            body=body,
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            body_hash=hashlib.sha256(body).hexdigest(),
            max_age=parse_max_age(resp.headers.get("Cache-Control")),
            final_url=final_url,
        )
        if result.body_hash == state.body_hash:  # servers without validators: same bytes as last time
            return replace(result, outcome="not-modified", body=b"")
        if looks_like_html(body[:65_536]):
            return replace(result, outcome="not-a-feed", body=b"", error="the URL returned an HTML page, not a feed")
        return result


async def host_problem(url: str, allow: Sequence[str], resolver: AbstractResolver | None = None) -> str | None:
    """Resolve the URL's host and say why it may not be fetched (None: it may)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host:
        return "the URL has no host"
    try:
        if resolver is not None:
            addresses = [str(i["host"]) for i in await resolver.resolve(host, parts.port or 443)]
        else:
            infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
            addresses = [str(info[4][0]) for info in infos]
    except OSError:
        return f"DNS lookup failed for {host}"
    return addresses_problem(host, addresses, allow)


def _server_now(date: str | None) -> datetime:
    """The server's clock when it says so: Retry-After dates are relative to it, not to ours."""
    try:
        when = parsedate_to_datetime(date) if date else None
    except (TypeError, ValueError, IndexError):
        when = None
    if when is None:
        return datetime.now(UTC)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _net(error: str) -> FetchResult:
    return FetchResult("network-error", error=error)


def _http(status: int | None, error: str) -> FetchResult:
    return FetchResult("http-error", status=status, error=error)
