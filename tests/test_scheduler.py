"""The durable scheduler: due posts delivered once, failures retried or recorded, DST respected."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot import pain
from bot.app.factory import Focusbot
from bot.common.outbox import forget_finished_posts, schedule_post
from bot.common.recurrence import next_weekly
from bot.console.fakeslack import FakeSlack, Scripted
from bot.runtime.scheduler import Scheduler
from bot.runtime.services import Services
from bot.runtime.settings import Settings
from storage.base import Workspace, utcnow
from storage.db import make_engine, session_scope
from storage.pain import PainTheme
from storage.schedule import ScheduledPost

WORKSPACE = Workspace("T1")


def post_text(session: Session, post: ScheduledPost, client: WebClient, services: Services) -> None:
    client.chat_postMessage(channel=post.channel_id, text=f"{post.kind} {post.idempotency_key}")


def make_scheduler(engine: Engine, fake: FakeSlack, **deliverers) -> Scheduler:
    client = WebClient(token="xoxb-test", base_url=fake.base_url, retry_handlers=[])
    services = Services(settings=Settings(_env_file=None), engine=engine, clock=utcnow)  # type: ignore[call-arg]
    return Scheduler(services, {"test.say": post_text, **deliverers}, lambda _ws: client)


def add_post(
    engine: Engine, key: str, due: datetime, channel: str = "C1", kind: str = "test.say"
) -> None:
    with session_scope(engine) as session:
        schedule_post(
            session,
            workspace=WORKSPACE,
            channel_id=channel,
            kind=kind,
            due_at=due,
            key=key,
            now=due,
        )


def states(engine: Engine) -> dict[str, tuple[str, int, str | None]]:
    with session_scope(engine) as session:
        return {
            post.idempotency_key: (post.state, post.attempts, post.last_error)
            for post in session.exec(select(ScheduledPost))
        }


def test_a_post_is_delivered_when_due_and_only_once(engine: Engine, fake_slack: FakeSlack) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_post(engine, "k1", due)
    scheduler = make_scheduler(engine, fake_slack)
    with freeze_time(due - timedelta(seconds=1)):
        assert scheduler.tick().sent == 0
    with freeze_time(due):
        assert scheduler.tick().sent == 1
        assert scheduler.tick().sent == 0
    assert [c["text"] for c in fake_slack.calls_to("chat.postMessage")] == ["test.say k1"]


def test_the_same_key_never_makes_a_second_post(engine: Engine, fake_slack: FakeSlack) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_post(engine, "same", due)
    add_post(engine, "same", due + timedelta(hours=1))
    with freeze_time(due + timedelta(days=1)):
        make_scheduler(engine, fake_slack).tick()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_rate_limits_are_retried_after_what_slack_asks(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_post(engine, "k1", due)
    fake_slack.script(
        "chat.postMessage",
        Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "120"}),
        Scripted(500, {"ok": False, "error": "internal_error"}),
        Scripted(drop_connection=True),
    )
    scheduler = make_scheduler(engine, fake_slack)
    with freeze_time(due):
        assert scheduler.tick().retried == 1
    assert states(engine)["k1"][0] == "pending"
    assert "rate limited" in (states(engine)["k1"][2] or "")
    with freeze_time(due + timedelta(seconds=119)):
        assert scheduler.tick().retried == 0  # Retry-After is honoured
    with freeze_time(due + timedelta(seconds=121)):
        assert scheduler.tick().retried == 1  # the 500
    with freeze_time(due + timedelta(minutes=10)):
        assert scheduler.tick().retried == 1  # the dropped connection
    with freeze_time(due + timedelta(hours=1)):
        assert scheduler.tick().sent == 1
    assert states(engine)["k1"] == ("sent", 4, None)
    delivered = [c for c in fake_slack.calls_to("chat.postMessage")]
    assert len(delivered) == 4  # three failures, one success: one message reached the channel


def test_a_permanent_failure_is_recorded_and_does_not_block_others(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_post(engine, "archived", due, channel="C_ARCHIVED")
    add_post(engine, "fine", due + timedelta(seconds=1), channel="C_FINE")
    fake_slack.script("chat.postMessage", Scripted(200, {"ok": False, "error": "is_archived"}))
    with freeze_time(due + timedelta(minutes=1)):
        report = make_scheduler(engine, fake_slack).tick()
    assert (report.sent, report.failed) == (1, 1)
    assert states(engine)["archived"] == ("failed", 1, "Slack said is_archived")
    assert states(engine)["fine"][0] == "sent"


def test_a_post_without_a_deliverer_fails_with_a_reason(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_post(engine, "odd", due, kind="nobody.knows")
    with freeze_time(due):
        make_scheduler(engine, fake_slack).tick()
    state, _, error = states(engine)["odd"]
    assert state == "failed" and "no deliverer for kind 'nobody.knows'" in (error or "")


def test_after_downtime_a_missed_weekly_post_is_delivered_once(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    def weekly(
        session: Session, post: ScheduledPost, client: WebClient, services: Services
    ) -> None:
        now = services.now()
        client.chat_postMessage(channel=post.channel_id, text="weekly")
        due = next_weekly(now, 0, 9 * 60 + 30, "Europe/Berlin")
        schedule_post(
            session,
            workspace=WORKSPACE,
            channel_id="C1",
            kind="test.weekly",
            due_at=due,
            key=f"weekly:{due.isoformat()}",
            now=now,
        )

    first = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_post(engine, f"weekly:{first.isoformat()}", first, kind="test.weekly")
    scheduler = make_scheduler(engine, fake_slack, **{"test.weekly": weekly})
    with freeze_time(first + timedelta(weeks=3, days=2)):  # three weeks down
        scheduler.tick()
        scheduler.tick()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    with session_scope(engine) as session:
        pending = session.exec(select(ScheduledPost).where(ScheduledPost.state == "pending")).one()
    assert pending.due_at == datetime(2026, 12, 21, 8, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timezone", "before", "after"),
    [
        # Monday 09:30 local, the week before and after clocks change.
        (
            "Europe/Berlin",
            datetime(2027, 3, 22, 8, 30, tzinfo=UTC),
            datetime(2027, 3, 29, 7, 30, tzinfo=UTC),
        ),
        (
            "Europe/Berlin",
            datetime(2026, 10, 19, 7, 30, tzinfo=UTC),
            datetime(2026, 10, 26, 8, 30, tzinfo=UTC),
        ),
        (
            "America/New_York",
            datetime(2027, 3, 8, 14, 30, tzinfo=UTC),
            datetime(2027, 3, 15, 13, 30, tzinfo=UTC),
        ),
        (
            "Asia/Kolkata",
            datetime(2027, 3, 22, 4, 0, tzinfo=UTC),
            datetime(2027, 3, 29, 4, 0, tzinfo=UTC),
        ),
    ],
)
def test_weekly_times_stay_at_the_same_local_time_across_dst(
    timezone: str, before: datetime, after: datetime
) -> None:
    assert next_weekly(before - timedelta(days=2), 0, 9 * 60 + 30, timezone) == before
    assert next_weekly(before, 0, 9 * 60 + 30, timezone) == after


def test_a_local_time_skipped_by_spring_forward_moves_past_the_gap() -> None:
    # 02:30 does not exist in Berlin on Sunday 28 March 2027: the post goes at 03:30 (01:30 UTC).
    after = datetime(2027, 3, 27, 12, 0, tzinfo=UTC)
    assert next_weekly(after, 6, 2 * 60 + 30, "Europe/Berlin") == datetime(
        2027, 3, 28, 1, 30, tzinfo=UTC
    )


def test_two_schedulers_racing_deliver_each_post_once(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    for number in range(30):
        add_post(engine, f"k{number}", due, channel=f"C{number}")
    schedulers = [make_scheduler(engine, fake_slack) for _ in range(2)]
    with freeze_time(due):
        tick_together(schedulers)
    texts = [c["text"] for c in fake_slack.calls_to("chat.postMessage")]
    assert sorted(texts) == sorted(f"test.say k{number}" for number in range(30))


def test_a_post_abandoned_mid_delivery_is_taken_up_after_its_lease(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_post(engine, "k1", due)
    with session_scope(engine) as session:  # a worker claimed it, then died
        post = session.exec(select(ScheduledPost)).one()
        post.state, post.lease_until, post.attempts = "sending", due + timedelta(minutes=5), 1
    scheduler = make_scheduler(engine, fake_slack)
    with freeze_time(due + timedelta(minutes=1)):
        assert scheduler.tick().sent == 0
    with freeze_time(due + timedelta(minutes=6)):
        assert scheduler.tick().sent == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


def test_a_deferral_rule_holds_a_post_until_it_allows(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    due = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    window = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    add_post(engine, "k1", due)
    scheduler = make_scheduler(engine, fake_slack)
    scheduler.defer = lambda session, places, now: {place: window for place in places}
    with freeze_time(due):
        assert scheduler.tick().deferred == 1
    with freeze_time(window - timedelta(minutes=1)):
        assert scheduler.tick().sent == 0
    with freeze_time(window):
        assert scheduler.tick().sent == 1
    assert states(engine)["k1"] == ("sent", 1, None)


def test_a_restart_loses_nothing(engine: Engine, fake_slack: FakeSlack, database_url: str) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_post(engine, "k1", due)
    engine.dispose()
    restarted = make_engine(database_url)
    with freeze_time(due):
        assert make_scheduler(restarted, fake_slack).tick().sent == 1
    restarted.dispose()


def test_the_background_job_ticks_on_its_own(engine: Engine, fake_slack: FakeSlack) -> None:
    add_post(engine, "k1", utcnow() - timedelta(seconds=1))
    scheduler = make_scheduler(engine, fake_slack)
    scheduler.start(interval_seconds=0.2)
    try:
        assert len(fake_slack.wait_for("chat.postMessage", 1, timeout=5)) == 1
    finally:
        scheduler.shutdown()
    assert states(engine)["k1"][0] == "sent"


def test_finished_posts_are_forgotten_after_thirty_days_but_failures_stay(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    long_ago = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
    for key in ("old-failed", "old-sent", "recent-sent"):  # delivered in this order
        add_post(engine, key, long_ago if key.startswith("old") else long_ago + timedelta(days=20))
    fake_slack.script("chat.postMessage", Scripted(200, {"ok": False, "error": "is_archived"}))
    scheduler = make_scheduler(engine, fake_slack)
    with freeze_time(long_ago + timedelta(days=21)):
        scheduler.tick()  # old-failed fails, the others are sent
    assert {key: state for key, (state, _, _) in states(engine).items()} == {
        "old-failed": "failed",
        "old-sent": "sent",
        "recent-sent": "sent",
    }
    housekeeping = make_scheduler(engine, fake_slack)
    housekeeping.chores = (forget_finished_posts,)
    with freeze_time(long_ago + timedelta(days=31)):
        housekeeping.tick()
    assert set(states(engine)) == {"old-failed", "recent-sent"}


def add_posts(
    engine: Engine, keys_and_channels: list[tuple[str, Workspace, str, datetime]], kind: str
) -> None:
    with session_scope(engine) as session:
        for key, workspace, channel, due in keys_and_channels:
            schedule_post(
                session,
                workspace=workspace,
                channel_id=channel,
                kind=kind,
                due_at=due,
                key=key,
                now=due,
            )


def test_two_schedulers_ticking_together_deliver_batches_exactly_once(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    posts = [
        (f"k{team}-{channel}-{n}", Workspace(f"T{team}"), f"C{channel}", due)
        for team in range(5)
        for channel in range(30)
        for n in range(3)
    ]  # 450 posts: more than two batches
    add_posts(engine, posts, "test.say")
    schedulers = [make_scheduler(engine, fake_slack) for _ in range(2)]
    with freeze_time(due):
        tick_together(schedulers)
    texts = [c["text"] for c in fake_slack.calls_to("chat.postMessage")]
    assert sorted(texts) == sorted(f"test.say {key}" for key, *_ in posts)
    assert {state for state, _, _ in states(engine).values()} == {"sent"}


def test_retry_after_of_a_workspace_delays_that_workspace_only(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    limited = []

    def limited_once(
        session: Session, post: ScheduledPost, client: WebClient, services: Services
    ) -> None:
        if post.team_id == "T1" and not limited:
            limited.append(post.idempotency_key)
            response = SlackResponse(
                client=client,
                http_verb="POST",
                api_url="chat.postMessage",
                req_args={},
                data={"ok": False, "error": "ratelimited"},
                headers={"retry-after": "120"},
                status_code=429,
            )
            raise SlackApiError("ratelimited", response)
        post_text(session, post, client, services)

    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    posts = [
        (f"{team}-{channel}", Workspace(team), f"C{channel}", due + timedelta(seconds=channel))
        for team in ("T1", "T2")
        for channel in range(4)
    ]
    add_posts(engine, posts, "test.limited")
    scheduler = make_scheduler(engine, fake_slack, **{"test.limited": limited_once})
    with freeze_time(due + timedelta(minutes=1)):
        report = scheduler.tick()
    assert (report.sent, report.retried, report.deferred) == (4, 1, 3)
    sent = {key for key, (state, _, _) in states(engine).items() if state == "sent"}
    assert sent == {f"T2-{channel}" for channel in range(4)}
    with freeze_time(due + timedelta(minutes=1, seconds=119)):
        assert scheduler.tick().sent == 0  # the workspace still waits
    with freeze_time(due + timedelta(minutes=3, seconds=1)):
        assert scheduler.tick().sent == 4
    assert {attempts for _, attempts, _ in states(engine).values()} == {1, 2}
    assert len(fake_slack.calls_to("chat.postMessage")) == 8


def test_posts_to_a_channel_go_out_in_due_order_a_burst_then_one_a_second(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    # Scheduled latest first, so that the order of the rows is not the order they fall due in.
    posts = [
        (f"k{n:02d}", WORKSPACE, "C1", due + timedelta(seconds=n)) for n in reversed(range(12))
    ]
    add_posts(engine, posts, "test.say")
    add_posts(engine, [(f"other{n}", Workspace("T2"), f"C9{n}", due) for n in range(5)], "test.say")
    scheduler = make_scheduler(engine, fake_slack)
    with freeze_time(due + timedelta(minutes=1)):
        report = scheduler.tick()
    assert report.sent == 10 + 5  # a burst of ten in C1
    with freeze_time(due + timedelta(minutes=1, seconds=2)):
        assert scheduler.tick().sent == 2
    in_c1 = [c["text"] for c in fake_slack.calls_to("chat.postMessage") if c["channel"] == "C1"]
    assert in_c1 == [f"test.say k{n:02d}" for n in range(12)]
    assert states(engine)["k11"] == ("sent", 1, None)


def test_a_failure_after_writing_is_undone_and_nothing_is_posted_twice(
    engine: Engine, fake_slack: FakeSlack
) -> None:
    def say_and_follow_up(
        session: Session, post: ScheduledPost, client: WebClient, services: Services
    ) -> None:
        post_text(session, post, client, services)
        schedule_post(
            session,
            workspace=WORKSPACE,
            channel_id=post.channel_id,
            kind="test.later",
            due_at=post.due_at + timedelta(weeks=1),
            key=f"after {post.idempotency_key}",
            now=services.now(),
        )
        if post.idempotency_key == "broken":
            raise ValueError("broken after writing")

    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    add_posts(
        engine,
        [("first", WORKSPACE, "C1", due), ("broken", WORKSPACE, "C2", due + timedelta(seconds=1))],
        "test.follow",
    )
    scheduler = make_scheduler(engine, fake_slack, **{"test.follow": say_and_follow_up})
    with freeze_time(due + timedelta(minutes=1)):
        report = scheduler.tick()
    assert (report.sent, report.failed) == (1, 1)
    found = states(engine)
    assert found["first"][0] == "sent" and found["broken"][0] == "failed"
    assert set(found) == {"first", "broken", "after first"}  # the broken one's follow-up undone
    texts = [c["text"] for c in fake_slack.calls_to("chat.postMessage")]
    assert sorted(texts) == ["test.follow broken", "test.follow first"]  # first posted once


def test_a_simple_post_costs_at_most_three_sql_statements(
    focusbot: Focusbot, engine: Engine
) -> None:
    due = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    with session_scope(engine) as session:
        themes = [
            PainTheme(team_id=f"T{n % 10}", name=f"theme {n}", created_at=due) for n in range(300)
        ]
        session.add_all(themes)
        session.flush()
        for number, theme in enumerate(themes):
            schedule_post(
                session,
                workspace=Workspace(theme.team_id),
                channel_id=f"U{number:04d}",
                kind=pain.DM_KIND,
                due_at=due,
                key=f"dm {number}",
                now=due,
                payload={"about": "threshold", "theme_id": theme.id, "people": ["U1", "U2"]},
            )
    statements = []
    listen = lambda *_: statements.append(1)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        with freeze_time(due + timedelta(minutes=1)):
            report = focusbot.scheduler.tick()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert report.sent == 300
    assert len(statements) / report.sent <= 3


def tick_together(schedulers: list[Scheduler]) -> None:
    """Run one tick of every scheduler at the same time, as processes sharing a database would."""
    threads = [threading.Thread(target=scheduler.tick) for scheduler in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
