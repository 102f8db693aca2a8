"""`/maker` end to end: signed slash commands over HTTP, answers in each caller's timezone."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from slack_sdk import WebClient
from sqlmodel import Session, select

from bot.app.factory import Focusbot
from bot.common.leads import add_leads
from bot.common.outbox import schedule_post
from bot.console.fakeslack import FakeSlack
from bot.maker import defer_many
from bot.runtime.scheduler import Scheduler
from bot.runtime.services import Services
from storage.base import Workspace
from storage.db import session_scope
from storage.maker import MakerCalendar, MakerMeeting, MakerSchedule
from storage.schedule import ScheduledPost
from tests.conftest import ALICE, BOB, CAROL, CHANNEL, TEAM, SlackUser

# Tuesday 1 December 2026, 09:30 in Berlin, 03:30 in New York, 14:00 in Kolkata.
TUESDAY = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)


def maker(slack: SlackUser, text: str, **kwargs) -> str:
    answer = slack.command(text, command="/maker", **kwargs)
    assert answer.status == 200
    return answer.text


@pytest.mark.both_transports
def test_maker_shows_today_and_tomorrow_in_each_callers_timezone(slack: SlackUser) -> None:
    with freeze_time(TUESDAY, tick=True):
        alice = maker(slack, "")
        bob = maker(slack, "", user=BOB)
        carol = maker(slack, "", user=CAROL)
    assert "Now is a *meeting window* until Tue 1 Dec 09:45." in alice
    assert "*Today* (Tue 1 Dec): 09:00–09:45 · 13:00–14:00 · 16:30–17:30" in alice
    assert "*Tomorrow* (Wed 2 Dec): 09:00–09:45 · 13:00–14:00 · 16:30–17:30" in alice
    assert "Defaults: no lead has set this team's schedule yet" in alice
    # Without a team schedule each person sees the defaults in their own timezone.
    assert "Now is outside the working day; the day starts Tue 1 Dec 09:00." in bob
    assert "Now is *maker time* until Tue 1 Dec 16:30" in carol


@pytest.mark.both_transports
def test_a_team_schedule_is_shown_to_everyone_in_their_own_time(slack: SlackUser) -> None:
    with freeze_time(TUESDAY, tick=True):
        saved = maker(slack, "set windows 09:00-09:30 13:00-14:00")
        bob = maker(slack, "", user=BOB)
        carol = maker(slack, "", user=CAROL)
        bob_in_dm = maker(slack, "", user=BOB, channel="D0BOB")  # Bob's team is #ml-team now
        dana_in_dm = maker(slack, "", user="U0DANA", channel="D0DANA")
    assert "*Saved. Maker time* · <#C0MLTEAM>" in saved
    assert "team timezone Europe/Berlin" in saved
    # Berlin 09:00 and 13:00 are 03:00 and 07:00 in New York, 13:30 and 17:30 in Kolkata.
    assert "*Today* (Tue 1 Dec): 03:00–03:30 · 07:00–08:00" in bob
    assert "*Today* (Tue 1 Dec): 13:30–14:00 · 17:30–18:30" in carol
    assert "Now is *maker time* until Tue 1 Dec 17:30" in carol
    assert "*Maker time* · <#C0MLTEAM>" in bob_in_dm
    assert "*Today* (Tue 1 Dec): 03:00–03:30 · 07:00–08:00" in bob_in_dm
    assert "no team channel yet, so the defaults" in dana_in_dm
    assert "*Today* (Tue 1 Dec): 09:00–09:45 · 13:00–14:00 · 16:30–17:30" in dana_in_dm  # UTC


def test_bad_schedules_and_outsiders_change_nothing(slack: SlackUser, focusbot: Focusbot) -> None:
    with freeze_time(TUESDAY, tick=True):
        overlap = maker(slack, "set windows 09:00-10:00 09:30-11:00")
        outside = maker(slack, "set windows 07:00-08:00")
        unreadable = maker(slack, "set windows nine-ten")
        with session_scope(focusbot.services.engine) as session:
            assert session.exec(select(MakerSchedule)).all() == []
            add_leads(session, Workspace(TEAM), ALICE, [ALICE], TUESDAY)
        refused = maker(slack, "set free wed", user=BOB)
        allowed = maker(slack, "set free wed")
    assert "The windows 09:00–10:00 and 09:30–11:00 overlap. Nothing was changed." in overlap
    assert "is outside the working day (09:00–17:30). Nothing was changed." in outside
    assert "`nine-ten` is not a range of 24-hour times" in unreadable
    assert "Only the workspace's leads can change the team's schedule: <@U0ALICE>." in refused
    assert "meeting-free days: Wednesday" in allowed


def test_check_says_how_much_maker_time_a_meeting_costs(slack: SlackUser) -> None:
    with freeze_time(TUESDAY, tick=True):
        maker(slack, "set timezone Europe/Berlin")
        costly = maker(slack, "check tue 10:30 45m 8")
        # Bob's 07:30 in New York is 13:30 in Berlin: the end of the lunch window, then maker time.
        bobs = maker(slack, "check 2026-12-02 07:30 1h <@U0ALICE|alice>", user=BOB)
        fine = maker(slack, "check tomorrow 13:00 30m")
        weekend = maker(slack, "check sat 11:00", user=CAROL)
        bad = maker(slack, "check 2026-12-02 25:00")
    assert (
        ":warning: Tue 1 Dec 10:30–11:15 (45m, your time) cuts *45m* into the team's maker time."
        in costly
    )
    assert "Long: over the team's 30 minutes" in costly
    assert "Big: 8 people, over the team's 6" in costly
    assert (
        "Nearest slots inside meeting windows:*\n"
        "• Tue 1 Dec 13:00–13:45\n• Tue 1 Dec 16:30–17:15\n• Wed 2 Dec 09:00–09:45" in costly
    )
    assert "Wed 2 Dec 07:30–08:30 (1h, your time) cuts *30m* into the team's maker time." in bobs
    assert "Long: over" in bobs and "Big:" not in bobs
    # Slots in Bob's time: the hour-long windows at 13:00 and 16:30 in Berlin.
    assert "• Tue 1 Dec 10:30–11:30\n• Wed 2 Dec 07:00–08:00\n• Wed 2 Dec 10:30–11:30" in bobs
    assert (
        ":white_check_mark: Wed 2 Dec 13:00–13:30 (30m, your time) fits inside a meeting window."
        in fine
    )
    assert "Nearest slots" not in fine
    # Saturday 11:00 in Kolkata: off hours, so the nearest window slots are offered instead.
    assert ":zzz: Sat 5 Dec 11:00–11:30 (30m, your time) falls outside the working day." in weekend
    assert "• Fri 4 Dec 13:30–14:00\n• Fri 4 Dec 17:30–18:00\n• Fri 4 Dec 21:00–21:30" in weekend
    assert "`25:00` is not a time" in bad and "for example" in bad and "Nothing was changed." in bad


def test_slots_skip_what_linked_calendars_show_busy(slack: SlackUser, focusbot: Focusbot) -> None:
    with freeze_time(TUESDAY, tick=True):
        maker(slack, "set timezone Europe/Berlin")
        before = maker(slack, "slots 45m 1")
        with session_scope(focusbot.services.engine) as session:
            # Alice's linked calendar has a meeting at 13:00–13:15 Berlin.
            calendar = MakerCalendar(
                team_id=TEAM, user_id=ALICE, url="https://cal.example/a.ics", linked_at=TUESDAY
            )
            session.add(calendar)
            session.flush()
            assert calendar.id is not None
            session.add(
                MakerMeeting(
                    calendar_id=calendar.id,
                    occurrence_key="k",
                    people=3,
                    start=datetime(2026, 12, 1, 12, tzinfo=UTC),
                    end=datetime(2026, 12, 1, 12, 15, tzinfo=UTC),
                )
            )
        after = maker(slack, "slots 45m 1")
        too_long = maker(slack, "slots 2h")
    assert "• Tue 1 Dec 13:00–13:45\n• Tue 1 Dec 16:30–17:15" in before
    assert "No calendars linked" in before
    assert "• Tue 1 Dec 13:15–14:00\n• Tue 1 Dec 16:30–17:15" in after
    assert "Only slots where the linked calendar is free." in after
    assert "No meeting window is long enough: the longest is 1h." in too_long


def say(session: Session, post: ScheduledPost, client: WebClient, services: Services) -> None:
    client.chat_postMessage(channel=post.channel_id, text=post.idempotency_key)


def test_scheduled_posts_wait_for_the_next_window_unless_the_team_turns_it_off(
    slack: SlackUser, fake_slack: FakeSlack, focusbot: Focusbot
) -> None:
    engine = focusbot.services.engine
    guarded = Scheduler(
        focusbot.services, {"test.say": say}, focusbot.scheduler.client_for, defer=defer_many
    )
    maker_time = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Berlin
    with freeze_time(TUESDAY, tick=True):
        maker(slack, "set timezone Europe/Berlin")
    with session_scope(engine) as session:
        for key, channel in (("team", CHANNEL), ("dm", ALICE)):
            schedule_post(
                session,
                workspace=Workspace(TEAM),
                channel_id=channel,
                kind="test.say",
                due_at=maker_time,
                key=key,
                now=maker_time,
            )
    with freeze_time(maker_time):
        guarded.tick()
    assert [c["text"] for c in fake_slack.calls_to("chat.postMessage")] == ["dm"]
    with freeze_time(datetime(2026, 12, 1, 11, 59, tzinfo=UTC)):
        guarded.tick()
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    with freeze_time(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)):  # 13:00 in Berlin
        guarded.tick()
    assert [c["text"] for c in fake_slack.calls_to("chat.postMessage")] == ["dm", "team"]

    with freeze_time(TUESDAY, tick=True):
        off = maker(slack, "set defer off")
    assert "scheduled posts are not held back" in off
    with session_scope(engine) as session:
        schedule_post(
            session,
            workspace=Workspace(TEAM),
            channel_id=CHANNEL,
            kind="test.say",
            due_at=maker_time,
            key="undeferred",
            now=maker_time,
        )
    with freeze_time(maker_time + timedelta(days=1)):
        guarded.tick()
    assert [c["text"] for c in fake_slack.calls_to("chat.postMessage")][-1] == "undeferred"


def test_help_and_unknown_subcommands(slack: SlackUser) -> None:
    with freeze_time(TUESDAY, tick=True):
        help_text = maker(slack, "help")
        unknown = maker(slack, "party <!channel>")
    assert "`/maker check &lt;when&gt; [duration] [attendees]`" in help_text
    assert "I don't know `/maker party`. Nothing was changed." in unknown
    assert "<!channel>" not in unknown
