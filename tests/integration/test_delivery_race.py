"""A story that grows while its alert is being posted (a slow platform, another process merging
a new source) is edited afterwards: the post never stays short of its sources.

Found by `make soak SOAK_ARGS="--processes 2 --slow"`: the route re-opens only rows already
"sent", so a source added during the send was lost until a further one arrived."""

from __future__ import annotations

from datetime import timedelta

from bot.model import Message
from bot.outbox import deliver_pending
from bot.pipeline import process_items
from tests.factories import T0
from tests.fakes.recording_sink import RecordingSink
from tests.integration.test_pipeline import DEPLOY, DEPLOY_2, ctx_with


async def test_a_source_merged_during_the_send_is_edited_in_on_the_next_pass() -> None:
    ctx, sinks = await ctx_with("desk")
    await ctx.store.add_items([DEPLOY, DEPLOY_2])
    await process_items(ctx, [DEPLOY], T0 + timedelta(hours=3))
    sink: RecordingSink = sinks["desk"]
    send = sink.send

    async def slow_send(message: Message) -> str:  # the other outlet's report lands mid-send
        await process_items(ctx, [DEPLOY_2], T0 + timedelta(hours=3))
        return await send(message)

    sink.send = slow_send  # type: ignore[method-assign]
    await deliver_pending(ctx, T0 + timedelta(hours=3))
    assert len(sink.sends) == 1 and len(sink.sends[0].stories[0].links) == 1  # posted the one-source version
    story_id = sink.sends[0].stories[0].story_id
    story = await ctx.store.story(story_id)
    assert story is not None and story.version == 2  # ... while the story grew
    await deliver_pending(ctx, T0 + timedelta(hours=3, minutes=1))
    assert sink.edits and len(sink.edits[-1][1].stories[0].links) == 2
