"""`/maker kept chart`: the share of maker time kept per week, drawn and posted."""

from slack_sdk import WebClient

from bot import maker
from handlers.charts import Chart, Line, Panel, chart_reply
from handlers.slack import Reply, note


def kept_chart_reply(
    client: WebClient, channel_id: str, trend: maker.KeptTrend | None, weeks: int
) -> Reply:
    """Answer at once and post the chart of maker time kept; say what is missing when it can't."""
    if trend is None:
        return note(
            "There is nothing to draw yet: maker time kept is measured from linked calendars.",
            "Link yours with `/maker calendar &lt;private iCal address&gt;` in your DM with me.",
        )
    kept = [float("nan") if share is None else share for share in trend.kept]
    described = ", ".join("unknown" if share is None else f"{share:.0f}%" for share in trend.kept)
    title = f"Maker time kept per week, last {weeks} weeks"
    chart = Chart(
        title,
        "maker-time-kept.png",
        f"Share of the team's maker time free of meetings, week by week, oldest first: "
        f"{described}.",
        (
            Panel(
                "Maker time kept",
                "week starting",
                "kept (%)",
                [Line("kept", trend.week_starts, kept)],
                (0, 100),
            ),
        ),
    )
    return chart_reply(client, channel_id, chart)
