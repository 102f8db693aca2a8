"""Focus across teams, tested on the rules: reading the commands, who may see which list."""

from datetime import UTC, datetime, timedelta

import pytest

from bot import focus
from bot.focus import Access, UsageError
from bot.runtime.cache import ExpiringCache
from storage.focus import FocusList

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("all", focus.AllTeams()),
        ("teams", focus.AllTeams()),
        ("team <#C0RESEARCH|research>", focus.ShowTeam("C0RESEARCH")),
        ("team <#G0PRIVATE>", focus.ShowTeam("G0PRIVATE")),
        ("follow <#C0RESEARCH|research>", focus.Follow("C0RESEARCH")),
        ("unfollow <#C0RESEARCH>", focus.Follow("C0RESEARCH", stop=True)),
        ("digest", focus.AcrossPost()),
        ("digest off", focus.AcrossPost(off=True)),
        ("digest here off", focus.AcrossPost(off=True)),
        ("digest here fri 16:00", focus.AcrossPost(4, 16 * 60, None)),
        ("digest here mon 09:30 Europe/Berlin", focus.AcrossPost(0, 570, "Europe/Berlin")),
    ],
)
def test_across_commands_are_read(text: str, expected: focus.Command) -> None:
    assert focus.parse_command(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "all teams",
        "team",
        "team research",
        "team <#C1> <#C2>",
        "team <@U1>",
        "follow <#D0ALICE>",
        "digest fri 16:00",
        "digest here",
        "digest here 16:00",
    ],
)
def test_unreadable_across_commands_say_how_to_write_them(text: str) -> None:
    with pytest.raises(UsageError):
        focus.parse_command(text)


class Slack:
    """What Slack would say: private channels and their members; None for "cannot tell"."""

    def __init__(self, private: dict[str, set[str]], unknown: set[str], guests: set[str]):
        self.private = private
        self.unknown = unknown
        self.guests = guests

    def is_private(self, channel_id: str) -> bool | None:
        return None if channel_id in self.unknown else channel_id in self.private

    def members(self, channel_id: str) -> frozenset[str] | None:
        if channel_id in self.unknown:
            return None
        return frozenset(self.private.get(channel_id, {"U0ALICE", "U0GUEST"}))

    def is_guest(self, user_id: str) -> bool | None:
        return None if user_id in self.unknown else user_id in self.guests


def a_list(channel_id: str, personal: bool = False) -> FocusList:
    return FocusList(team_id="T1", channel_id=channel_id, is_personal=personal, created_at=NOW)


@pytest.mark.parametrize(
    ("focus_list", "viewer", "expected"),
    [
        (a_list("C0PUBLIC"), "U0BOB", Access.SHOWN),
        (a_list("C0PUBLIC"), None, Access.SHOWN),
        (a_list("C0SECRET"), "U0ALICE", Access.SHOWN),
        (a_list("C0SECRET"), "U0BOB", Access.HIDDEN),
        (a_list("C0SECRET"), None, Access.HIDDEN),
        (a_list("D0ALICE", personal=True), "U0ALICE", Access.SHOWN),
        (a_list("D0ALICE", personal=True), "U0BOB", Access.HIDDEN),
        (a_list("D0ALICE", personal=True), None, Access.HIDDEN),
        (a_list("C0PUBLIC"), "U0GUEST", Access.SHOWN),  # a guest in the channel
        (a_list("C0SECRET"), "U0GUEST", Access.HIDDEN),
        (a_list("C0PUBLIC"), "U0OUTSIDER", Access.HIDDEN),  # a guest not in it
        (a_list("C0PUBLIC"), "U0UNSURE", Access.UNKNOWN),
        (a_list("C0UNSURE"), "U0ALICE", Access.UNKNOWN),
        (a_list("D0UNSURE", personal=True), "U0ALICE", Access.UNKNOWN),
    ],
)
def test_who_may_see_a_list(focus_list: FocusList, viewer: str | None, expected: Access) -> None:
    slack = Slack(
        {"C0SECRET": {"U0ALICE"}, "D0ALICE": {"U0ALICE", "UFOCUSBOT"}},
        unknown={"C0UNSURE", "D0UNSURE", "U0UNSURE"},
        guests={"U0GUEST", "U0OUTSIDER", "U0UNSURE"},
    )
    assert focus.access_to(focus_list, viewer, slack) is expected


def test_remembered_answers_expire_and_the_cache_stays_bounded() -> None:
    cache = ExpiringCache(max_entries=2)
    cache.put("a", False, NOW, timedelta(minutes=2))
    assert cache.get("a", NOW + timedelta(minutes=1)) is False
    assert cache.get("a", NOW + timedelta(minutes=2)) is None
    for key in ("b", "c", "d"):
        cache.put(key, key, NOW, timedelta(minutes=2))
    assert [cache.get(key, NOW) for key in ("b", "c", "d")] == [None, "c", "d"]
