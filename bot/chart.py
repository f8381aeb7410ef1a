"""The weekly digest's trend chart: relevant reports and new stories per day, drawn as a PNG.

A digest whose subscription runs at most once a week (bot/core/trend.py) gets one on its first
page. Counts come from the store; drawing is CPU work and runs in a worker thread, one chart at a
time (matplotlib's object API, Agg canvas, no display and no pyplot state). A chart that cannot be
made costs one log line and the digest goes out without it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import threading
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from bot.core.render import local
from bot.core.trend import CHART_WEEKS, Trend, day_bounds, fires_weekly, trend_of
from bot.model import Attachment, Delivery, Destination, Message
from bot.pipeline import Context
from bot.routing import all_subscriptions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

log = logging.getLogger("deskwatch.chart")
WIDTH, HEIGHT, DPI = 8.0, 3.2, 100  # 800 × 320 px: readable inline on Discord and Slack
BARS, LINE = "#90a4ae", "#c62828"
_DRAWING = threading.Lock()  # matplotlib is not thread-safe; a chart a week needs no parallelism


def figure(trend: Trend) -> Figure:
    """The chart as a matplotlib Figure: a bar per day (relevant reports) and a line (new stories),
    the days on the x axis labelled on Mondays."""
    # Imported here: matplotlib takes a while to load and only the weekly digest needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import MO, DateFormatter, WeekdayLocator, date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.xaxis_date()
    days = date2num(trend.days)
    ax.bar(days, trend.relevant, width=0.8, color=BARS, label="relevant reports")
    ax.plot(days, trend.stories, color=LINE, linewidth=1.5, marker="o", markersize=2.5, label="new stories")
    ax.xaxis.set_major_locator(WeekdayLocator(byweekday=MO))
    ax.xaxis.set_major_formatter(DateFormatter("%d %b"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.margins(x=0.01)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower right", bbox_to_anchor=(1, 1), ncols=2, frameon=False, fontsize=8)  # above the plot
    weeks = round(len(days) / 7)
    ax.set_title(f"{trend.title} — per day, last {weeks} weeks ({trend.timezone})", fontsize=10, loc="left")
    return fig


def draw(trend: Trend) -> bytes:
    """PNG bytes of `figure(trend)`."""
    with _DRAWING:
        out = io.BytesIO()
        figure(trend).savefig(out, format="png")
        return out.getvalue()


def alt_text(trend: Trend) -> str:
    if not trend.days:
        return "No days to chart."
    return (f"{trend.title}: {sum(trend.relevant)} relevant reports and {sum(trend.stories)} new stories "
            f"from {trend.days[0]:%d %b} to {trend.days[-1]:%d %b %Y}, per day.")


async def with_chart(ctx: Context, dest: Destination, row: Delivery, page: Message, now: datetime) -> Message:
    """A digest's first page with the weekly chart attached, when its subscription is weekly.
    Only the first page: it is posted with its marker like every page, so after a crash it is
    found and neither it nor its chart goes out twice."""
    attachment = await digest_chart(ctx, dest, row, now)
    return replace(page, attachments=(*page.attachments, attachment)) if attachment else page


def _digest_watch(row: Delivery) -> str:
    # queue_digest names a digest row "digest:<watch>@<position>:<destination>"
    return row.id.removeprefix("digest:").partition("@")[0]


async def digest_chart(ctx: Context, dest: Destination, row: Delivery, now: datetime) -> Attachment | None:
    """The chart for a digest row whose subscription is weekly; None for other digests, and (with
    one log line) when it cannot be made."""
    watch = _digest_watch(row)
    sub = next((s for s in await all_subscriptions(ctx)
                if s.watch == watch and s.destination == row.destination and s.mode == "digest"), None)
    if sub is None or not fires_weekly(sub.schedule, sub.timezone):
        return None
    settings = ctx.settings.watch(watch)
    try:
        bounds = day_bounds(now, dest.timezone, CHART_WEEKS * 7)
        trend = trend_of(settings.title if settings else watch, dest.timezone, bounds,
                         await ctx.store.activity(watch, bounds))
        png = await asyncio.get_running_loop().run_in_executor(None, draw, trend)
    except Exception as exc:  # the digest's text matters more than its picture
        log.warning("the weekly chart of %s for %s could not be made (%s: %s); the digest goes out without it",
                    watch, dest.name, type(exc).__name__, exc)
        return None
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", watch).strip("-") or "watch"
    return Attachment(filename=f"digest-{slug}-{local(now, dest.timezone):%Y%m%d}.png", data=png,
                      description=alt_text(trend))
