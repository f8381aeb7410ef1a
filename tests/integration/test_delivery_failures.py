"""Any failure of one outbox row is that row's problem only (issue 10, point 4).

Whatever a sink raises — its own RetryableDeliveryError or an exception nobody planned for (an
answer that cannot be parsed) — counts one attempt, backs off exponentially up to a cap, ends the
row as `failed` with its reason after `MAX_ATTEMPTS`, and never stops the pass for the other rows.
A failure after the post went out leaves the row "sending", so the next pass looks for the post
before it posts again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.model import Delivery, Message
from bot.outbox import MAX_ATTEMPTS, MAX_BACKOFF, deliver_pending
from bot.pipeline import Context
from bot.platforms.base import RetryableDeliveryError
from bot.store.memory import MemoryStore
from tests.factories import T0, settings
from tests.fakes.recording_sink import RecordingSink
from tests.integration.test_one_delivery_pass import queue_alerts


@dataclass
class Broken(RecordingSink):
    """Raises for the stories in `broken`: before posting, or after (`posts_anyway`: a platform that
    accepted the post and answered something unreadable)."""

    broken: set[str] = field(default_factory=set)
    posts_anyway: bool = False
    error: Exception = field(default_factory=lambda: ValueError("Expecting value: line 1 column 1 (char 0)"))
    tries: list[str] = field(default_factory=list)

    async def send(self, message: Message) -> str:
        self.tries.append(message.marker)
        story = message.stories[0].story_id if message.stories else ""
        if story not in self.broken:
            return await super().send(message)
        if self.posts_anyway:
            await super().send(message)
        raise self.error


async def make(sink: RecordingSink, n: int = 3) -> tuple[Context, list[str]]:
    store = MemoryStore()
    await store.open()
    ids = await queue_alerts(store, "desk", n)
    return Context(settings=settings("desk"), store=store, sinks={"desk": sink}), ids


async def row(ctx: Context, delivery_id: str) -> Delivery:
    found = await ctx.store.delivery(delivery_id)
    assert found is not None
    return found


async def test_an_unexpected_error_on_one_row_does_not_stop_the_pass_for_the_others() -> None:
    sink = Broken("desk", broken={"st-0"})
    ctx, ids = await make(sink)
    report = await deliver_pending(ctx, T0)  # must not raise
    assert [m.stories[0].story_id for m in sink.sends] == ["st-1", "st-2"]
    assert report.sent == 2 and report.retrying == 1
    first = await row(ctx, ids[0])
    assert first.status in ("pending", "sending") and first.attempts == 1
    assert first.next_attempt == T0 + timedelta(seconds=30)
    assert "ValueError" in first.last_error


async def test_a_row_that_keeps_failing_backs_off_then_ends_failed_with_its_reason() -> None:
    sink = Broken("desk", broken={"st-0"})
    ctx, ids = await make(sink, n=1)
    for s in range(25):  # a tick every second, as in the field report: one try, not 25
        await deliver_pending(ctx, T0 + timedelta(seconds=s))
    assert len(sink.tries) == 1
    waits: list[timedelta] = []
    now: datetime = T0
    while (current := await row(ctx, ids[0])).status != "failed":
        assert current.next_attempt is not None and len(waits) < 50
        waits.append(current.next_attempt - now)
        now = current.next_attempt
        await deliver_pending(ctx, now)
    assert len(sink.tries) == MAX_ATTEMPTS and current.attempts == MAX_ATTEMPTS
    assert waits[:4] == [timedelta(seconds=30 * 2 ** k) for k in range(4)]  # exponential …
    assert max(waits) == MAX_BACKOFF  # … with a cap
    assert "ValueError" in current.last_error and str(MAX_ATTEMPTS) in current.last_error
    assert current.next_attempt is None and not await ctx.store.due_deliveries(now + timedelta(days=1))


async def test_a_rate_limit_is_not_a_failed_attempt() -> None:
    sink = Broken("desk", broken={"st-0"}, error=RetryableDeliveryError("rate limited", retry_after=5))
    ctx, ids = await make(sink, n=1)
    for n in range(MAX_ATTEMPTS + 3):
        await deliver_pending(ctx, T0 + timedelta(seconds=6 * n))
    current = await row(ctx, ids[0])
    assert current.status != "failed" and current.attempts == 0
    assert current.next_attempt == T0 + timedelta(seconds=6 * (MAX_ATTEMPTS + 2) + 5)


async def test_a_maybe_sent_post_is_looked_for_before_it_is_posted_again() -> None:
    # the platform took the post and answered something unreadable: like a crash after the send
    sink = Broken("desk", broken={"st-0"}, posts_anyway=True)
    ctx, ids = await make(sink)
    first = await deliver_pending(ctx, T0)
    assert first.sent == 2 and first.retrying == 1
    pending = await row(ctx, ids[0])
    assert pending.status == "sending" and pending.ref is None
    again = await deliver_pending(ctx, T0 + timedelta(seconds=30))
    assert again.recovered == 1 and again.sent == 0
    assert len(sink.sends) == 3 and len(sink.tries) == 3  # st-0 posted once, never re-posted
    done = await row(ctx, ids[0])
    assert done.status == "sent" and done.ref == "desk/1"
