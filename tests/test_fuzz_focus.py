"""`/focus` under arbitrary input over HTTP: always a clear answer, never a ping, nothing half-done.

One focusbot serves every example; each command example works in a fresh channel whose list
holds two items, so the list before and after can be compared with what the command intends.
"""

import itertools
import json
import re
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot import focus
from bot.console.fakeslack import FakeSlack
from handlers.focus import (
    ADD_ACTION,
    ADD_OWNERS_BLOCK,
    ADD_TEXT_BLOCK,
    ADD_VIEW,
    DONE_ACTION,
    DROP_ACTION,
)
from storage.focus import DONE, DROPPED, OPEN, FocusItem, FocusItemOwner, FocusList
from tests.conftest import ALICE, BOB, TEAM, Answer, SlackUser, message_text

pytestmark = pytest.mark.slow  # sixty examples a test, each through HTTP and the database

OTHER_TEAM = "T0OTHER"
BROADCAST = re.compile(r"<!(?:channel|here|everyone)\b")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

WORDS = (
    "",
    "list",
    "add",
    "done",
    "drop",
    "edit",
    "move",
    "owner",
    "limit",
    "share",
    "history",
    "checkin",
    "stall",
    "help",
    "ADD",
    "Done",
    "nonsense",
)
FRAGMENTS = (
    "<@U0BOB|bob>",
    "<@U1|x>",
    "<@W0CAROL>",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!here|@here>",
    "<!subteam^S0ML|@ml-team>",
    "&lt;!channel&gt;",
    "<#C0MLTEAM|ml-team>",
    "<https://example.com|a link>",
    "*bold*",
    "_italic_",
    "~struck~",
    "`code`",
    "```block```",
    "> quote",
    "&amp;",
    "\n",
    "\t",
    "\x00",
    "\x1b[31m",
    "\u202e",
    "🙂",
    ":tada:",
    " ",
    "1",
    "2",
    "3",
    "mon 09:30",
    "off",
    "Europe/Berlin",
)
LONG = st.sampled_from(("x", "é", "<!channel>", "<@U1|x> ", "🙂", "*a*")).map(
    lambda piece: (piece * (10_000 // len(piece) + 1))[:10_000]
)
MIXED = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=10).map(
    "".join
)
NUMBERED = st.tuples(st.integers(0, 4), MIXED).map(lambda pair: f"{pair[0]} {pair[1]}")
TEXT = st.one_of(st.text(max_size=60), MIXED, NUMBERED, LONG)
NUMBER = st.integers(0, 4).map(str)
# Commands close to what people type, so that most examples change something.
WELL_FORMED = st.one_of(
    st.tuples(st.just("add"), MIXED),
    st.tuples(st.sampled_from(("done", "drop")), NUMBER),
    st.tuples(st.just("drop"), st.tuples(NUMBER, MIXED).map(" ".join)),
    st.tuples(st.just("edit"), st.tuples(NUMBER, MIXED).map(" ".join)),
    st.tuples(st.just("move"), st.tuples(NUMBER, NUMBER).map(" ".join)),
    st.tuples(st.just("owner"), NUMBER.map(lambda n: f"{n} <@U0CAROL|carol> <@U0BOB>")),
    st.tuples(st.just("limit"), st.integers(0, 8).map(str)),
    st.tuples(st.just("stall"), st.integers(0, 60).map(str)),
    st.tuples(
        st.just("checkin"),
        st.sampled_from(
            ("fri 17:00", "mon 9:30 Asia/Kolkata", "off", "sun 25:00", "tue 08:00 Mars/Base")
        ),
    ),
)
FREE_FORM = st.tuples(st.sampled_from(WORDS), TEXT)
COMMANDS = st.booleans().flatmap(lambda free: FREE_FORM if free else WELL_FORMED)


@dataclass(frozen=True)
class Item:
    """An item as the comparison sees it."""

    text: str
    state: str
    owners: frozenset[str]


@dataclass(frozen=True)
class ListState:
    """A list's settings, every item it ever had, and the open ones in display order."""

    settings: tuple[Any, ...]
    items: dict[int, Item]
    order: tuple[int, ...]


def list_state(engine: Engine, team: str, channel: str) -> ListState | None:
    with Session(engine) as session:
        focus_list = session.exec(
            select(FocusList).where(FocusList.team_id == team, FocusList.channel_id == channel)
        ).first()
        if focus_list is None:
            return None
        rows = session.exec(select(FocusItem).where(FocusItem.list_id == focus_list.id)).all()
        owners = session.exec(
            select(FocusItemOwner).where(col(FocusItemOwner.item_id).in_([r.id for r in rows]))
        ).all()
    owned: dict[int, set[str]] = {}
    for owner in owners:
        owned.setdefault(owner.item_id, set()).add(owner.user_id)
    items = {
        row.id or 0: Item(row.text, row.state, frozenset(owned.get(row.id or 0, ())))
        for row in rows
    }
    opened = sorted((row for row in rows if row.state == OPEN), key=lambda r: (r.position, r.id))
    return ListState(
        (
            focus_list.cap,
            focus_list.stall_weeks,
            focus_list.checkin_weekday,
            focus_list.checkin_minute,
            focus_list.timezone,
        ),
        items,
        tuple(row.id or 0 for row in opened),
    )


def everything(engine: Engine) -> tuple[Any, ...]:
    """Return every focus row of every workspace, for 'nothing changed anywhere'."""
    with Session(engine) as session:
        return (
            sorted(tuple(row.model_dump().items()) for row in session.exec(select(FocusList))),
            sorted(tuple(row.model_dump().items()) for row in session.exec(select(FocusItem))),
            sorted((row.item_id, row.user_id) for row in session.exec(select(FocusItemOwner))),
        )


def intended(before: ListState, command: focus.Command) -> ListState:
    """Return the list a command should leave behind (Add aside: its new id is unknown)."""
    items, order, settings_ = dict(before.items), list(before.order), list(before.settings)
    number = getattr(command, "number", 0)
    target = order[number - 1] if 1 <= number <= len(order) else None
    if target is not None and isinstance(command, focus.Finish | focus.Drop):
        items[target] = replace(
            items[target], state=DONE if isinstance(command, focus.Finish) else DROPPED
        )
        order.remove(target)
    elif target is not None and isinstance(command, focus.Edit):
        owners = frozenset(command.owners) or items[target].owners
        items[target] = replace(items[target], text=command.text, owners=owners)
    elif target is not None and isinstance(command, focus.SetOwners):
        items[target] = replace(items[target], owners=frozenset(command.owners))
    elif target is not None and isinstance(command, focus.Move):
        if 1 <= command.position <= len(order):
            order.remove(target)
            order.insert(command.position - 1, target)
    elif isinstance(command, focus.Limit) and command.cap is not None:
        if command.cap >= len(order):
            settings_[0] = command.cap
    elif isinstance(command, focus.Stall) and command.weeks is not None:
        settings_[1] = command.weeks
    elif isinstance(command, focus.Checkin) and command.off:
        settings_[2] = None
    elif isinstance(command, focus.Checkin) and command.weekday is not None:
        settings_[2:5] = [command.weekday, command.minute, command.timezone or settings_[4]]
    return ListState(tuple(settings_), items, tuple(order))


def assert_changed_as_intended(
    before: ListState, after: ListState, command: focus.Command | None
) -> None:
    if not isinstance(command, focus.Add):
        assert after == (before if command is None else intended(before, command))
        return
    (new_id,) = set(after.items) - set(before.items)
    owners = frozenset(command.owners or (ALICE,))
    expected = ListState(
        before.settings,
        {**before.items, new_id: Item(command.text, OPEN, owners)},
        (*before.order, new_id),
    )
    assert after == expected


def parsed(text: str) -> focus.Command | None:
    try:
        return focus.parse_command(text)
    except focus.UsageError:
        return None


def assert_no_broadcast(*messages: str) -> None:
    for message in messages:
        assert not BROADCAST.search(message), message[:500]


def answered(slack: SlackUser, fake: FakeSlack, answer: Answer) -> list[str]:
    """Return everything focusbot said back: the HTTP answer and any response_url posts."""
    path = "/" + slack.last_response_url.split("/", 3)[3]
    # A public answer (share) is posted to the response_url after an empty acknowledgement.
    posts = fake.calls_to(path) if answer.body else fake.wait_for(path, 1)
    return [answer.body] * bool(answer.body) + [json.dumps(post) for post in posts]


@pytest.fixture
def fresh_channels() -> "itertools.count[int]":
    return itertools.count(1)


@FUZZ
@given(word_and_text=COMMANDS)
@example(word_and_text=("", "<!channel> standup moved"))
@example(word_and_text=("checkin", "<!here> 09:30"))
@example(word_and_text=("checkin", "mon 09:30 <!everyone>"))
@example(word_and_text=("add", "<!channel> " + "é" * 10_000))
@example(word_and_text=("edit", "1 *Ship* <@U0CAROL|carol> &lt;!here&gt;"))
def test_any_focus_command_gets_a_clear_answer_and_changes_at_most_what_it_says(
    slack: SlackUser,
    fake_slack: FakeSlack,
    engine: Engine,
    fresh_channels: "itertools.count[int]",
    word_and_text: tuple[str, str],
) -> None:
    word, text = word_and_text
    channel = f"C{next(fresh_channels):06d}FUZZ"
    for item in ("alpha", "beta <@U0BOB|bob>"):
        assert slack.command(f"add {item}", channel=channel).status == 200
    before = list_state(engine, TEAM, channel)
    assert before is not None and len(before.order) == 2
    typed = f"{word} {text}" if word else text

    answer = slack.command(typed, channel=channel)

    assert answer.status == 200
    said = answered(slack, fake_slack, answer)
    assert said and any(message_text(json.loads(message)) for message in said), said
    assert_no_broadcast(*said)
    after = list_state(engine, TEAM, channel)
    assert after is not None
    command = parsed(typed)
    event(type(command).__name__ if command else "usage error")
    assert_changed_as_intended(before, after, command)


@pytest.fixture
def other_workspace(http_url: str, fake_slack: FakeSlack, engine: Engine) -> dict[str, list[int]]:
    """Give another workspace a list with items; return its list and item ids."""
    other = SlackUser(http_url, fake_slack, team_id=OTHER_TEAM)
    for item in ("their secret plan", "their other plan"):
        assert "Added" in other.command(f"add {item}", user=BOB).text
    with Session(engine) as session:
        lists = session.exec(select(FocusList.id).where(FocusList.team_id == OTHER_TEAM)).all()
        items = session.exec(select(FocusItem.id).where(col(FocusItem.list_id).in_(lists))).all()
    return {"lists": [int(i) for i in lists if i], "items": [int(i) for i in items if i]}


def forged_ids(ids: list[int]) -> st.SearchStrategy[str]:
    """Ids that are not the caller's: another workspace's, in many spellings, or junk."""
    theirs = st.sampled_from(ids)
    return st.one_of(
        theirs.map(str),
        theirs.map(lambda i: f" {i}"),
        theirs.map(lambda i: f"+{i}"),
        theirs.map(lambda i: f"{i}.0"),
        theirs.map(lambda i: f"0{i}"),
        st.integers(-(2**70), 2**70).map(str),
        st.text(max_size=40),
        st.sampled_from(("", "null", "[]", "{}", "٣", "1e3", "0x1", "NaN", "9" * 30)),
    )


@FUZZ
@given(data=st.data(), in_home=st.booleans())
def test_forged_button_values_change_nothing(
    slack: SlackUser,
    fake_slack: FakeSlack,
    engine: Engine,
    other_workspace: dict[str, list[int]],
    data: st.DataObject,
    in_home: bool,
) -> None:
    value = data.draw(forged_ids(other_workspace["items"] + other_workspace["lists"]))
    action_id = data.draw(st.sampled_from((DONE_ACTION, DROP_ACTION, ADD_ACTION)))
    before = everything(engine)

    answer = slack.click(
        {"action_id": action_id, "value": value, "block_id": "focus_item_1"}, in_home=in_home
    )

    assert answer.status == 200
    assert everything(engine) == before
    if not in_home and action_id != ADD_ACTION:
        (response,) = slack.responses()
        assert response.get("text") and "their" not in message_text(response)


def forged_metadata(list_ids: list[int]) -> st.SearchStrategy[str]:
    """private_metadata a caller could send: junk, or JSON naming another workspace's list."""
    list_id = st.one_of(
        st.sampled_from(list_ids),
        st.sampled_from(list_ids).map(str),
        st.integers(-(2**70), 2**70),
        st.text(max_size=20),
        st.none(),
        st.floats(allow_nan=True),
        st.lists(st.integers(), max_size=3),
    )
    return st.one_of(
        st.text(max_size=80),
        list_id.map(lambda value: json.dumps({"list_id": value})),
        st.sampled_from(("", "null", "[]", '"1"', "{", '{"list_id": {"$ne": null}}')),
    )


@FUZZ
@given(data=st.data())
def test_forged_add_modal_submissions_change_nothing(
    slack: SlackUser,
    engine: Engine,
    other_workspace: dict[str, list[int]],
    data: st.DataObject,
) -> None:
    metadata = data.draw(forged_metadata(other_workspace["lists"]))
    text = data.draw(st.one_of(st.text(max_size=300), LONG, st.just("A sneaky addition")))
    owners = data.draw(st.lists(st.text(max_size=12), max_size=3))
    before = everything(engine)

    answer = slack.post(
        slack.requests.view_submission(
            {"callback_id": ADD_VIEW, "private_metadata": metadata},
            {
                ADD_TEXT_BLOCK: {"text": {"type": "plain_text_input", "value": text}},
                ADD_OWNERS_BLOCK: {
                    "owners": {"type": "multi_users_select", "selected_users": owners}
                },
            },
            user_id=ALICE,
        )
    )

    assert answer.status == 200
    assert answer.json.get("response_action") == "errors", answer.body
    assert everything(engine) == before
