"""Draw charts as PNG files and post them to Slack; matplotlib is optional (`focusbot[charts]`).

Features compute the series; this module only draws them. A chart is 1200×675 pixels, the size
Slack previews an image at, with large type, a title, labelled axes and alt text.
"""

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.slack import Reply, note

log = logging.getLogger(__name__)
SIZE_INCHES, DPI = (12, 6.75), 100
ENABLE = (
    "Charts need matplotlib, which this focusbot was installed without. Install focusbot with "
    "its charts extra (`pip install 'focusbot[charts]'`) and restart it; everything else "
    "works as before."
)


@dataclass(frozen=True)
class Line:
    """One labelled series of a panel."""

    label: str
    x: Sequence[float | date | datetime]
    y: Sequence[float]
    steps: bool = False  # a value holds until the next one (a confidence trail)


@dataclass(frozen=True)
class Panel:
    """One set of axes: a title, labelled axes and its lines."""

    title: str
    x_label: str
    y_label: str
    lines: Sequence[Line]
    y_limits: tuple[float, float] | None = None
    diagonal: bool = False  # draw y = x, what a perfectly calibrated team would show
    empty_note: str = "Nothing to draw yet."
    counts: bool = False  # whole numbers on the y axis


@dataclass(frozen=True)
class Chart:
    """A picture to post: its title, file name, alt text and panels."""

    title: str
    filename: str
    alt_text: str
    panels: Sequence[Panel] = field(default_factory=tuple)


def charts_available() -> bool:
    """Tell whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def render(chart: Chart) -> bytes:
    """Draw a chart as a PNG of 1200×675 pixels."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
    figure.suptitle(chart.title, fontsize=22, fontweight="bold")
    for index, panel in enumerate(chart.panels, start=1):
        _draw(figure.add_subplot(1, len(chart.panels), index), panel)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _draw(axes: Any, panel: Panel) -> None:
    from matplotlib import dates, ticker

    over_time = any(isinstance(value, date) for line in panel.lines for value in line.x[:1])
    axes.set_title(panel.title, fontsize=17)
    axes.set_xlabel(panel.x_label, fontsize=15)
    axes.set_ylabel(panel.y_label, fontsize=15)
    axes.tick_params(labelsize=13)
    axes.grid(alpha=0.3)
    if panel.diagonal:
        axes.plot([0, 100], [0, 100], linestyle="--", color="grey", label="said = happened")
    for line in panel.lines:
        # Dates become numbers here, so the plot never depends on matplotlib's unit registry.
        x = dates.date2num(list(line.x)) if over_time else line.x
        if line.steps:
            axes.step(x, line.y, where="post", linewidth=3, label=line.label)
        else:
            axes.plot(x, line.y, marker="o", markersize=8, linewidth=3, label=line.label)
    if panel.y_limits:
        axes.set_ylim(*panel.y_limits)
    if panel.diagonal:
        axes.set_xlim(0, 100)
    if panel.counts:
        axes.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    if not panel.lines:
        axes.text(
            0.5,
            0.5,
            panel.empty_note,
            ha="center",
            va="center",
            fontsize=16,
            transform=axes.transAxes,
        )
    elif len(panel.lines) > 1 or panel.diagonal:
        axes.legend(fontsize=12, loc="best")
    if over_time:
        locator = dates.AutoDateLocator(maxticks=6)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(dates.ConciseDateFormatter(locator))


def chart_reply(client: WebClient, channel_id: str, chart: Chart) -> Reply:
    """Answer at once, then draw the chart and post it in the conversation; or say how to enable."""
    if not charts_available():
        return note(ENABLE)
    reply = note(f"Drawing “{chart.title}”: it appears here in a moment.")
    reply.then = lambda: post_chart(client, channel_id, chart)
    return reply


def post_chart(client: WebClient, channel_id: str, chart: Chart) -> None:
    """Render a chart and upload it to a conversation with its title and alt text."""
    png = render(chart)
    try:
        client.files_upload_v2(
            channel=channel_id,
            file=png,
            filename=chart.filename,
            title=chart.title,
            alt_txt=chart.alt_text[:1000],
            initial_comment=chart.alt_text[:1000],
        )
    except SlackApiError as error:
        log.warning("Could not upload the chart %r: %s", chart.title, error.response.get("error"))
