"""The six commands of issue #15, signed as Slack sends them, with the answer each must give."""

import itertools
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from bench.data import CHANNELS, DETAILS, PLACES, members_of, samples
from bench.processes import BOT_TOKEN, SIGNING_SECRET
from bot.console.fakeslack import SignedRequest, SlackRequests
from bot.pain.commands import SUBCOMMANDS

EVENTS_PATH = "/slack/events"
MEASURED_CHANNEL = CHANNELS[0]  # it has a focus list, a milestone board and a maker schedule


@dataclass(frozen=True)
class Planned:
    """One command to send: what is typed, where, by whom, and words its answer must hold."""

    command: str
    text: str
    channel: str
    user: str
    expected: str


# Each kind yields an endless stream of commands for one connection (`lane`): a lane's
# commands go one after another, so `/focus add` and `/focus done 1` alternate in its own channel.
Stream = Callable[[int, random.Random], Iterator[Planned]]


def _member(rng: random.Random) -> str:
    return rng.choice(members_of(MEASURED_CHANNEL))


def _repeat(command: str, text: str, expected: str) -> Stream:
    def stream(_lane: int, rng: random.Random) -> Iterator[Planned]:
        while True:
            yield Planned(command, text, MEASURED_CHANNEL, _member(rng), expected)

    return stream


def _focus_add_done(lane: int, rng: random.Random) -> Iterator[Planned]:
    channel = f"C0PAIR{lane:03d}"  # a list of its own, empty between the pairs
    for number in itertools.count(1):
        user = _member(rng)
        yield Planned("/focus", f"add Bench item {number}", channel, user, "Added")
        yield Planned("/focus", "done 1", channel, user, "Finished")


def _pain_text(_lane: int, rng: random.Random) -> Iterator[Planned]:
    texts = [text for _, text in samples()]
    while True:
        complaint = f"{rng.choice(texts)} on {rng.choice(PLACES)} {rng.choice(DETAILS)}"
        if complaint.split()[0].lower() in SUBCOMMANDS:  # "review turnaround is too slow …"
            complaint = f"log {complaint}"  # as a person would type it, or get the usage
        yield Planned("/pain", complaint, MEASURED_CHANNEL, _member(rng), "Logged pain point")


KINDS: dict[str, Stream] = {
    "/focus": _repeat("/focus", "", "Focus: 1."),
    "/focus add + done": _focus_add_done,
    "/maker check": _repeat("/maker", "check tue 10:30 45m 4", "(45m, your time)"),
    "/milestone": _repeat("/milestone", "", "Launch "),
    "/pain <text>": _pain_text,
    "/pain top": _repeat("/pain", "top", "Top pain themes"),
}


def plans(kind: str, lane: int, count: int, seed: int, bare: bool = False) -> list[Planned]:
    """Return the next `count` commands of a kind for one connection (any answer does, if bare)."""
    stream = KINDS[kind](lane, random.Random(seed * 1000 + lane))
    found = list(itertools.islice(stream, count))
    return [replace(planned, expected="") for planned in found] if bare else found


class Signer:
    """Signs planned commands, each with its own trigger id and response_url."""

    def __init__(self, response_url: Callable[[str], str]) -> None:
        self._requests = SlackRequests(SIGNING_SECRET)
        self._response_url = response_url
        self._ids = itertools.count()

    def sign(self, planned: Planned) -> tuple[str, SignedRequest]:
        """Return the request's id (its response_url's last part) and the signed request."""
        request_id = str(next(self._ids))
        signed = self._requests.command(
            planned.command,
            planned.text,
            user_id=planned.user,
            channel_id=planned.channel,
            response_url=self._response_url(request_id),
        )
        return request_id, signed


def bare_app(slack_api_url: str) -> Any:
    """Return a Bolt app that only acknowledges the same commands: the framework's floor."""
    from slack_bolt import Ack, App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=slack_api_url),
        signing_secret=SIGNING_SECRET,
    )

    def acknowledge(ack: Ack) -> None:
        ack()

    for command in ("/focus", "/maker", "/milestone", "/pain"):
        app.command(command)(acknowledge)
    return SlackRequestHandler(app, path=EVENTS_PATH)
