"""Load: 200 signed `/focus add` commands at once over HTTP, each answered within Slack's 3 s."""

import statistics
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.fakeslack import SignedRequest
from storage.focus import OPEN, FocusItem, FocusList
from tests.conftest import ALICE, BOB, CAROL, TEAM, Answer, SlackUser

SLACK_DEADLINE_SECONDS = 3.0
CONCURRENT = 200
PEOPLE = (ALICE, BOB, CAROL)


def adds(slack: SlackUser, channels: Sequence[str]) -> list[SignedRequest]:
    return [
        slack.requests.command(
            "/focus",
            f"add Load item {index} for <#{channel}> &amp; <@{PEOPLE[index % 3]}|someone>",
            user_id=PEOPLE[index % 3],
            channel_id=channel,
            response_url=slack.fake.response_url(f"load{index}"),
        )
        for index, channel in enumerate(channels)
    ]


def send_all_at_once(slack: SlackUser, requests: list[SignedRequest]) -> list[tuple[Answer, float]]:
    """Send every request from its own thread; return each answer with its latency."""

    def timed(request: SignedRequest) -> tuple[Answer, float]:
        started = time.perf_counter()
        answer = slack.post(request)
        return answer, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(timed, requests))


def assert_all_answered_in_time(results: list[tuple[Answer, float]], label: str) -> None:
    latencies = sorted(latency for _, latency in results)
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"\n{label}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {latencies[-1]:.2f} s")
    failures = [
        answer for answer, _ in results if answer.status != 200 or "Added" not in answer.text
    ]
    assert not failures, f"{len(failures)} of {len(results)} failed, e.g. {failures[0]}"
    late = [latency for latency in latencies if latency >= SLACK_DEADLINE_SECONDS]
    assert not late, f"{len(late)} answers took longer than Slack's 3 s (max {max(late):.2f} s)"


def open_items_per_channel(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        rows = session.exec(
            select(FocusList.channel_id, func.count(col(FocusItem.id)))
            .join(FocusItem, col(FocusItem.list_id) == col(FocusList.id))
            .where(FocusList.team_id == TEAM, FocusItem.state == OPEN)
            .group_by(col(FocusList.channel_id))
        )
        return {channel: count for channel, count in rows}


@pytest.mark.slow
def test_200_concurrent_adds_in_200_channels_are_all_answered_in_time_and_all_kept(
    slack: SlackUser, engine: Engine
) -> None:
    channels = [f"C{index:04d}LOAD" for index in range(CONCURRENT)]
    results = send_all_at_once(slack, adds(slack, channels))
    assert_all_answered_in_time(results, f"{CONCURRENT} adds, 200 channels")
    assert open_items_per_channel(engine) == dict.fromkeys(channels, 1)
    for channel in channels[:: CONCURRENT // 4]:
        listed = slack.command("", channel=channel).text
        assert "*1.* Load item" in listed and "1 of 3" in listed


@pytest.mark.slow
def test_200_concurrent_adds_five_to_a_list_lose_nothing(slack: SlackUser, engine: Engine) -> None:
    channels = [f"C{index:04d}BUSY" for index in range(CONCURRENT // 5)]
    for channel in channels:
        assert "at most 7 items" in slack.command("limit 7", channel=channel).text
    results = send_all_at_once(slack, adds(slack, channels * 5))
    assert_all_answered_in_time(results, f"{CONCURRENT} adds, 5 per list")
    assert open_items_per_channel(engine) == dict.fromkeys(channels, 5)
    with Session(engine) as session:
        places = session.exec(select(FocusItem.list_id, FocusItem.position)).all()
    positions: dict[int, list[int]] = {}
    for list_id, position in places:
        positions.setdefault(list_id, []).append(position)
    assert all(sorted(taken) == [1, 2, 3, 4, 5] for taken in positions.values()), positions
    for channel in channels[::10]:
        listed = slack.command("", channel=channel).text
        assert all(f"*{number}.* Load item" in listed for number in range(1, 6)), listed
        assert "5 of 7" in listed
