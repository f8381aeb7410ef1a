"""/deskwatch end to end: a signed form body dispatched through the bolt app, answered through
the response_url on the fake Slack; who may manage; bad signatures refused."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Sequence
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.commands import Caller, CommandsAPI, Reply
from bot.model import Message
from bot.platforms.slack.app import AdminCheck, build_app, http_routes
from bot.platforms.slack.sink import make_web_client
from tests.fakes.slack_server import FakeSlack

SECRET = "test-signing-secret"
USERS = {
    "UADMIN": {"is_admin": True},
    "UOWNER": {"is_owner": True},
    "UPRIMARY": {"is_primary_owner": True},
    "UPLAIN": {"is_admin": False},
    "UGUEST": {"is_admin": True, "is_restricted": True},
    "UGONE": {"is_admin": True, "deleted": True},
}
MANAGING = ("subscribe", "unsubscribe", "mute", "unmute")


class StubCommands(CommandsAPI):
    """Records what the adapter passed; refuses setting changes unless caller.can_manage."""

    def __init__(self) -> None:
        self.calls: list[tuple[Caller, str]] = []

    async def run_text(self, caller: Caller, text: str) -> Reply:
        self.calls.append((caller, text))
        if text == "boom":
            raise RuntimeError("secret internal detail")
        if text.split(" ")[0] in MANAGING and not caller.can_manage:
            return Reply(Message(kind="reply", title="Not allowed", text="Only admins can change settings."))
        return Reply(Message(kind="reply", title="Done", text=f"You asked: {text}"), ephemeral=text != "digest")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = FakeSlack(users=dict(USERS))
    await server.start()
    yield server
    await server.close()


@pytest.fixture
def stub() -> StubCommands:
    return StubCommands()


@pytest.fixture
def app(fake: FakeSlack, stub: StubCommands) -> AsyncApp:
    client = make_web_client("xoxb-good", fake.api_url)
    return build_app(stub, signing_secret=SECRET, bot_token=None, admins=["UCONF"], client=client)


def form(fake: FakeSlack, text: str, user: str = "UPLAIN", channel: str = "C1") -> str:
    return urlencode(
        {
            "token": "legacy-unused",
            "team_id": "T0DESK",
            "channel_id": channel,
            "user_id": user,
            "command": "/deskwatch",
            "text": text,
            "response_url": f"{fake.url}respond/{user}",
            "trigger_id": "1.2.3",
        }
    )


def bolt_request(body: str, headers: dict[str, str]) -> AsyncBoltRequest:
    widened: dict[str, str | Sequence[str]] = dict(headers)
    return AsyncBoltRequest(body=body, headers=widened)


def signed(body: str, secret: str = SECRET, age: int = 0) -> dict[str, str]:
    # The verifier compares the timestamp with the current time, so it must be "now".
    ts = str(int(time.time()) - age)
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": sig or "",
    }


async def run(app: AsyncApp, fake: FakeSlack, text: str, user: str = "UPLAIN") -> dict[str, object]:
    """Dispatch one signed /deskwatch and return what the bot posted to the response_url."""
    before = len(fake.calls("respond"))
    body = form(fake, text, user)
    resp = await app.async_dispatch(bolt_request(body, signed(body)))
    assert resp.status == 200  # the ack
    await fake.wait_for(lambda f: len(f.calls("respond")) > before)
    return fake.calls("respond")[-1].body


async def test_command_is_routed_and_answered_ephemerally(app: AsyncApp, fake: FakeSlack, stub: StubCommands) -> None:
    posted = await run(app, fake, "  latest 3 ")
    assert stub.calls == [(Caller(platform="slack", channel="C1", user="UPLAIN", can_manage=False), "latest 3")]
    assert posted["response_type"] == "ephemeral"
    blocks = posted["blocks"]
    assert isinstance(blocks, list) and blocks[0]["text"]["text"] == "Done"
    assert "You asked: latest 3" in str(posted["text"])


async def test_public_reply_goes_in_channel(app: AsyncApp, fake: FakeSlack) -> None:
    assert (await run(app, fake, "digest", user="UCONF"))["response_type"] == "in_channel"


@pytest.mark.parametrize(
    ("user", "allowed"),
    [("UCONF", True), ("UADMIN", True), ("UOWNER", True), ("UPLAIN", False), ("UGUEST", False), ("UNOBODY", False)],
)
@pytest.mark.parametrize("text", ["digest", "DIGEST", "  digest now"])
async def test_digest_is_for_managers_only(
    app: AsyncApp, fake: FakeSlack, stub: StubCommands, user: str, allowed: bool, text: str
) -> None:
    """Like Discord (Manage Channels): posting a digest to the channel is a manager's call."""
    posted = await run(app, fake, text, user=user)
    title = posted["blocks"][0]["text"]["text"]  # type: ignore[index]
    if allowed:
        assert title == "Done" and [t for _, t in stub.calls] == [text.strip()]
    else:
        assert title == "Not allowed" and stub.calls == []  # refused before the command runs
        assert posted["response_type"] == "ephemeral"
        assert "admin" in str(posted["text"])


@pytest.mark.parametrize(
    ("user", "can_manage", "asks_slack"),
    [
        ("UCONF", True, False),  # configured admin id: no users.info needed
        ("UADMIN", True, True),
        ("UOWNER", True, True),
        ("UPRIMARY", True, True),
        ("UPLAIN", False, True),
        ("UGUEST", False, True),  # a guest flagged admin is still a guest
        ("UGONE", False, True),
        ("UNOBODY", False, True),  # users.info fails -> not an admin
    ],
)
async def test_can_manage_from_admins_list_and_users_info(
    app: AsyncApp, fake: FakeSlack, stub: StubCommands, user: str, can_manage: bool, asks_slack: bool
) -> None:
    posted = await run(app, fake, "mute drills", user=user)
    # a manager command: only a manager's reaches the commands; the others are refused before
    assert [caller.can_manage for caller, _ in stub.calls] == ([True] if can_manage else [])
    assert (posted["blocks"][0]["text"]["text"] == "Not allowed") is not can_manage  # type: ignore[index]
    assert [r.body.get("user") for r in fake.calls("users.info")] == ([user] if asks_slack else [])


async def test_failing_command_answers_without_details(app: AsyncApp, fake: FakeSlack) -> None:
    posted = await run(app, fake, "boom")
    assert "Something went wrong" in str(posted) and "secret internal detail" not in str(posted)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-slack-signature": "v0=" + "0" * 64},
        {"x-slack-signature": ""},
        "wrong-secret",
        "too-old",
    ],
)
async def test_bad_signature_is_refused(
    app: AsyncApp, fake: FakeSlack, stub: StubCommands, headers: dict[str, str] | str
) -> None:
    body = form(fake, "mute drills", "UCONF")
    if headers == "wrong-secret":
        hdrs = signed(body, secret="not-the-secret")
    elif headers == "too-old":
        hdrs = signed(body, age=600)
    else:
        assert isinstance(headers, dict)
        hdrs = {**signed(body), **headers}
    resp = await app.async_dispatch(bolt_request(body, hdrs))
    assert resp.status == 401 and stub.calls == []


@pytest.mark.parametrize("stamp", ["abc", "", " ", "1e9", "12:00", "9" * 5000, "１２３", "-5"])
async def test_a_malformed_timestamp_is_a_400_with_one_log_line(
    app: AsyncApp, fake: FakeSlack, stub: StubCommands, stamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = form(fake, "latest", "UCONF")
    with caplog.at_level(logging.DEBUG):
        resp = await app.async_dispatch(bolt_request(body, {**signed(body), "x-slack-request-timestamp": stamp}))
    assert resp.status == 400 and stub.calls == []
    assert not any(r.exc_info for r in caplog.records)
    assert "Traceback" not in caplog.text
    refusals = [r for r in caplog.records if "X-Slack-Request-Timestamp" in r.getMessage()]
    assert len(refusals) == 1 and "\n" not in refusals[0].getMessage()


async def test_a_malformed_timestamp_over_http_is_a_400(app: AsyncApp, fake: FakeSlack, stub: StubCommands) -> None:
    web_app = web.Application()
    web_app.add_routes(http_routes(app))
    server = TestServer(web_app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        body = form(fake, "status", "UCONF")
        async with aiohttp.ClientSession() as session:
            headers = {**signed(body), "x-slack-request-timestamp": "not-a-number"}
            async with session.post(server.make_url("/slack/events"), data=body, headers=headers) as resp:
                assert resp.status == 400
        assert stub.calls == []
    finally:
        await server.close()


async def test_without_signing_secret_http_requests_are_refused(fake: FakeSlack, stub: StubCommands) -> None:
    client = make_web_client("xoxb-good", fake.api_url)
    app = build_app(stub, signing_secret=None, bot_token=None, admins=[], client=client)
    body = form(fake, "latest")
    ts = str(int(time.time()))
    # What a forger would try: the signature made with an empty key (slack_sdk refuses to make one).
    forged = hmac.new(b"", f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {**signed(body), "x-slack-request-timestamp": ts, "x-slack-signature": f"v0={forged}"}
    resp = await app.async_dispatch(bolt_request(body, headers))
    assert resp.status == 401 and stub.calls == []


async def test_http_mode_route_serves_signed_commands(app: AsyncApp, fake: FakeSlack, stub: StubCommands) -> None:
    web_app = web.Application()
    web_app.add_routes(http_routes(app))
    server = TestServer(web_app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        body = form(fake, "status")
        async with aiohttp.ClientSession() as session:
            url = server.make_url("/slack/events")
            async with session.post(url, data=body, headers=signed(body, secret="nope")) as bad:
                assert bad.status == 401
            async with session.post(url, data=body, headers=signed(body)) as good:
                assert good.status == 200
        await fake.wait_for(lambda f: len(f.calls("respond")) == 1)
        assert [text for _, text in stub.calls] == ["status"]
    finally:
        await server.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_admin_check_caches_briefly_and_never_caches_failures(fake: FakeSlack) -> None:
    clock = Clock()
    check = AdminCheck(make_web_client("xoxb-good", fake.api_url), ["UCONF"], ttl=300, clock=clock)
    assert await check("UADMIN") and await check("UADMIN")
    assert len(fake.calls("users.info")) == 1
    clock.now += 301
    assert await check("UADMIN")
    assert len(fake.calls("users.info")) == 2
    assert not await check("UNOBODY") and not await check("UNOBODY")
    assert len(fake.calls("users.info")) == 4
    failing = AdminCheck(make_web_client("xoxb-invalid", fake.api_url), [], clock=clock)
    assert not await failing("UADMIN")
