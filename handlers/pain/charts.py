"""`/pain top chart`: the top themes' distinct people per week, drawn and posted."""

from collections.abc import Sequence

from slack_sdk import WebClient

from bot import pain
from handlers.charts import Chart, Line, Panel, chart_reply
from handlers.slack import Reply, note


def top_chart_reply(
    client: WebClient, channel_id: str, trends: Sequence[pain.DemandTrend], weeks: int
) -> Reply:
    """Answer at once and post the chart of demand per week; say so when there is none."""
    if not trends:
        return note("No pain points in that span, so there is nothing to draw.")
    lines = [Line(trend.title, trend.week_starts, trend.people) for trend in trends]
    described = "; ".join(
        f"{trend.title}: {', '.join(str(count) for count in trend.people)}" for trend in trends
    )
    title = f"Pain themes: people per week, last {weeks} weeks"
    chart = Chart(
        title,
        "pain-top-themes.png",
        f"Distinct people per week who hit each of the top {len(trends)} themes, oldest week "
        f"first. {described}.",
        (Panel("Top themes", "week starting", "distinct people", lines, counts=True),),
    )
    return chart_reply(client, channel_id, chart)
