"""Time `/focus all` with many teams while Slack answers slowly: `python -m bench.across`.

Each Web API call to the local stand-in for Slack waits SLACK_LATENCY, as a real one roughly
does. The figures go in BENCHMARKS.md by hand; nothing here is asserted.
"""

import argparse
import logging
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from slack_bolt.request import BoltRequest

from bench.processes import SIGNING_SECRET, bench_settings
from bot.app.factory import create_focusbot
from bot.console.fakeslack import FakeSlack, Scripted, SlackRequests, running_fake_slack
from storage.db import make_engine
from storage.schema import upgrade

SLACK_LATENCY = 0.1
TEAM = "T0LOCAL"


def main() -> None:
    """Print how long the first and a second `/focus all` take, and the Slack calls made."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--teams", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    for listed in (False, True):
        with running_fake_slack() as fake, tempfile.TemporaryDirectory() as scratch:
            figures = _measure(fake, Path(scratch), args.teams, listed)
        how = "channel list" if listed else "one conversations.info per channel"
        print(f"{args.teams} teams, privacy from {how}: {figures}")


def _measure(fake: FakeSlack, scratch: Path, teams: int, listed: bool) -> str:
    database_url = f"sqlite:///{scratch / 'across.db'}"
    upgrade(make_engine(database_url))
    focusbot = create_focusbot(
        bench_settings(fake.base_url, database_url), process_before_response=True
    )
    requests = SlackRequests(SIGNING_SECRET, team_id=TEAM)
    channels = [f"C0TEAM{number:04d}" for number in range(teams)]
    if listed:
        fake.public_channels.update(channels)  # otherwise conversations.list names none of them

    def command(text: str, channel: str = "C0ASKER") -> float:
        signed = requests.command(
            "/focus", text, user_id="U0ASKER", channel_id=channel, response_url="http://x/"
        )
        headers: dict[str, str | Sequence[str]] = dict(signed.headers)
        started = time.perf_counter()
        response = focusbot.app.dispatch(BoltRequest(body=signed.body, headers=headers))
        if response.status != 200:
            raise RuntimeError(f"/focus {text} answered {response.status}")
        return time.perf_counter() - started

    for number, channel in enumerate(channels):
        command(f"add Item of team {number}", channel)
    for method in ("conversations.info", "conversations.list"):
        fake.script(method, *[Scripted(hold_seconds=SLACK_LATENCY)] * (teams + 1))
    first, second = command("all"), command("all")
    calls = {m: len(fake.calls_to(m)) for m in ("conversations.info", "conversations.list")}
    return f"first {first * 1000:,.0f} ms, second {second * 1000:,.0f} ms, Slack calls {calls}"


if __name__ == "__main__":
    main()
