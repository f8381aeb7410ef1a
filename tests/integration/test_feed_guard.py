"""Feeds added by chat users cannot make the bot fetch from inside the network: the command
refuses private hosts, and the fetcher re-checks every hop (redirects included)."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from bot.commands import Caller
from bot.commands_impl import Commands, load_added_feeds
from bot.fetch import Fetcher
from bot.model import FeedState
from bot.pipeline import Context
from bot.settings import AccessSettings, PollingSettings
from bot.store.memory import MemoryStore
from tests.factories import T0, settings
from tests.fakes.feed_server import FeedServer, make_rss

MANAGER = Caller(platform="slack", channel="C1", user="U1", can_manage=True)
MEMBER = Caller(platform="slack", channel="C1", user="U2", can_manage=False)


async def commands(allow: tuple[str, ...] = ()) -> Commands:
    s = replace(settings("desk"), access=AccessSettings(allow_private_hosts=allow))
    store = MemoryStore()
    await store.open()
    return Commands(Context(settings=s, store=store), clock=lambda: T0)


@pytest.mark.parametrize(("url", "words"), [
    ("http://127.0.0.1:8080/rss", "loopback"),
    ("http://10.0.0.7/feed.xml", "private-network"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[::1]/rss", "loopback"),
    ("http://localhost/rss", "loopback"),
    ("http://0.0.0.0/rss", "unspecified"),
])
async def test_add_feed_refuses_internal_addresses(url: str, words: str) -> None:
    cmd = await commands()
    reply = await cmd.add_feed(MANAGER, url)
    assert reply.message.title == "Feed refused" and words in reply.message.text
    assert cmd.ctx.extra_feeds == {}


@pytest.mark.parametrize("url", ["ftp://93.184.216.34/rss", "file:///etc/passwd", "javascript:alert(1)"])
async def test_add_feed_takes_only_http_links(url: str) -> None:
    reply = await (await commands()).add_feed(MANAGER, url)
    assert reply.message.title == "Could not do that"


async def test_add_feed_public_address_is_kept_across_restarts() -> None:
    cmd = await commands()
    assert (await cmd.add_feed(MEMBER, "http://93.184.216.34/rss")).message.title == "Not allowed"
    reply = await cmd.add_feed(MANAGER, "http://93.184.216.34/rss", "ko", "Example KO")
    assert reply.message.title == "Feed added"
    assert (await cmd.add_feed(MANAGER, "http://93.184.216.35/rss", "en", "example-ko")).message.title == (
        "Could not do that")
    fresh = Context(settings=cmd.ctx.settings, store=cmd.ctx.store)
    await load_added_feeds(fresh)
    feed = fresh.feed("example-ko")
    assert feed is not None and feed.origin == "command" and feed.language == "ko"
    assert (await cmd.ctx.store.feed_state("example-ko")) is not None
    assert (await cmd.remove_feed(MANAGER, "example-ko")).message.title == "Feed removed"
    assert cmd.ctx.feed("example-ko") is None


async def test_allow_listed_host_is_accepted() -> None:
    cmd = await commands(allow=("127.0.0.1",))
    assert (await cmd.add_feed(MANAGER, "http://127.0.0.1:9/rss", "en", "lab")).message.title == "Feed added"


async def test_fetch_guard_checks_redirect_targets() -> None:
    async with FeedServer() as server, Fetcher(PollingSettings()) as fetcher:
        target = server.feed("/inside.xml", make_rss("inside", 2))
        start = server.redirect("/start", target.replace("127.0.0.1", "localhost"))
        state = FeedState(name="f", url=start)
        # the first hop is allow-listed, the redirect target (localhost) is not
        refused = await fetcher.fetch(state, guard=("127.0.0.1",))
        assert refused.outcome == "http-error" and "refused: localhost resolves to" in refused.error
        assert server.hits["/inside.xml"] == 0
        # unguarded (a feed from the operator's config): fetched normally
        assert (await fetcher.fetch(state)).outcome == "ok"


class RebindingResolver(AbstractResolver):
    """Answers a public address first (the pre-check), then loopback (the connection)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.calls = 0

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        self.calls += 1
        ip = "93.184.216.34" if self.calls == 1 else "127.0.0.1"
        return [{"hostname": host, "host": ip, "port": port or self.port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


async def test_dns_rebinding_between_check_and_connect_is_refused() -> None:
    async with FeedServer() as server:
        url = server.feed("/inside.xml", make_rss("inside", 1))
        port = int(url.split(":")[2].split("/")[0])
        resolver = RebindingResolver(port)
        async with Fetcher(PollingSettings(), resolver=resolver) as fetcher:
            result = await fetcher.fetch(FeedState(name="f", url=f"http://rebind.test:{port}/inside.xml"), guard=())
        assert result.outcome == "http-error" and "refused: rebind.test resolves to 127.0.0.1" in result.error
        assert resolver.calls == 2 and server.hits["/inside.xml"] == 0
