"""Pain points: what hurts the ML team, grouped into themes, with demand counted in people."""

import csv
import json
import threading
import weakref
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.common import outbox
from bot.common.digest import DigestLine, DigestSection, DigestWindow
from bot.common.leads import lead_ids, require_lead
from bot.common.mentions import USER_MENTION, mentioned_users, plain_text
from bot.common.recurrence import is_known_timezone, parse_clock, parse_weekday
from bot.pain.matching import MIN_MATCH, NEIGHBOURS, SimilarityIndex, best_group
from storage import pain as store
from storage.base import Workspace
from storage.db import session_scope
from storage.pain import (
    CLOSED_STATUSES,
    STATUSES,
    PainPoint,
    PainReport,
    PainSettings,
    PainStatusChange,
    PainTheme,
)

MAX_TEXT_LENGTH = 1000
MAX_THEME_NAME_LENGTH = 80
MAX_NOTE_LENGTH = 500
DEFAULT_TOP_WEEKS = 8
MAX_WEEKS = 52
MAX_THRESHOLD_PEOPLE = 1000
SIMILAR_SHOWN = 3
SHOW_THRESHOLD = 0.2
DM_KIND = "pain.dm"
STATUS_LABELS = {
    "new": "new",
    "acknowledged": "acknowledged",
    "planned": "planned",
    "in_progress": "in progress",
    "solved": "solved",
    "wont_fix": "won't fix",
}
_STATUS_WORDS = {
    **{status: status for status in STATUSES},
    "ack": "acknowledged",
    "in progress": "in_progress",
    "in-progress": "in_progress",
    "inprogress": "in_progress",
    "won't fix": "wont_fix",
    "wont fix": "wont_fix",
    "wontfix": "wont_fix",
    "won't-fix": "wont_fix",
    "wont-fix": "wont_fix",
    "done": "solved",
}

USAGE = """\
/pain <text> — log a pain point (only you see the answer, with similar ones)
/pain +1 <n> — you hit pain point n too (also `/pain metoo <n>`)
/pain list [status] — the newest pain points (open ones, or with that status)
/pain show <n> — one pain point, its theme and the people who hit it
/pain top [weeks] — themes ranked by people who hit them (default 8 weeks)
/pain threshold [<people> <weeks>] — when the leads hear of a growing theme (default 3 in 4)
/pain merge <n> <into> — leads: put n's theme into the theme of pain point <into>
/pain split <n> — leads: take pain point n out of its theme
/pain theme <n> <name> — leads: name the theme of pain point n
/pain review [n] — leads: set a theme's status and a note for the people who reported it
/pain leads [add|remove @someone…] — show or change the workspace's leads
/pain export — leads: get every pain point as a CSV file
/pain reaction [<emoji> | off] — the reaction that logs a message as a pain point
/pain digest — this week's ML sync digest, now, only for you
/pain digest schedule <day> <HH:MM> [timezone] | off — when the channel gets the digest
/pain log <text> — log text that starts with a command word
/pain help — this text"""


def _words(text: str) -> list[str]:
    return text.split()


SUBCOMMANDS = frozenset(
    _words(
        """help log +1 metoo list show top threshold merge split theme review leads export reaction
    digest"""
    )
)


class UsageError(Exception):
    """The command could not be read; the message says how to write it."""


class PainError(Exception):
    """A change the rules refuse; nothing was changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Help:
    """Show the usage text."""


@dataclass(frozen=True)
class Log:
    """Log a pain point."""

    text: str


@dataclass(frozen=True)
class MeToo:
    """The caller hits pain point n too."""

    number: int


@dataclass(frozen=True)
class ListPoints:
    """List the newest pain points with some statuses."""

    statuses: tuple[str, ...]


@dataclass(frozen=True)
class Show:
    """Show pain point n."""

    number: int


@dataclass(frozen=True)
class Top:
    """Rank themes over some weeks."""

    weeks: int


@dataclass(frozen=True)
class Threshold:
    """Show the demand threshold, or set it."""

    people: int | None = None
    weeks: int | None = None


@dataclass(frozen=True)
class Merge:
    """Put pain point n's theme into the theme of pain point `into`."""

    number: int
    into: int


@dataclass(frozen=True)
class Split:
    """Take pain point n out of its theme."""

    number: int


@dataclass(frozen=True)
class NameTheme:
    """Name the theme of pain point n."""

    number: int
    name: str


@dataclass(frozen=True)
class Review:
    """Open the review modal, on the theme of pain point n if given."""

    number: int | None = None


@dataclass(frozen=True)
class Leads:
    """Show the leads, add some, or remove some."""

    action: str = "show"
    people: tuple[str, ...] = ()


@dataclass(frozen=True)
class Export:
    """Send the caller every pain point as CSV."""


@dataclass(frozen=True)
class Reaction:
    """Show the logging reaction, set it, or turn it off."""

    emoji: str | None = None
    off: bool = False


@dataclass(frozen=True)
class Digest:
    """Show the digest now, or change when the channel gets it."""

    action: str = "show"
    weekday: int | None = None
    minute: int | None = None
    timezone: str | None = None


Command = (
    Help
    | Log
    | MeToo
    | ListPoints
    | Show
    | Top
    | Threshold
    | Merge
    | Split
    | NameTheme
    | Review
    | Leads
    | Export
    | Reaction
    | Digest
)


def parse_command(text: str) -> Command:
    """Read the text after `/pain`; raise UsageError with a hint when it cannot be read."""
    stripped = text.strip()
    word, _, rest = stripped.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("", "help"):
        return Help()
    if word not in SUBCOMMANDS:
        return Log(clean_text(stripped))
    if word == "log":
        return Log(clean_text(rest))
    if word in ("+1", "metoo"):
        return MeToo(_number(rest, f"/pain {word} 12"))
    if word == "show":
        return Show(_number(rest, "/pain show 12"))
    if word == "list":
        return ListPoints(_statuses(rest))
    if word == "top":
        return Top(_weeks(rest, "/pain top 8", DEFAULT_TOP_WEEKS))
    if word == "threshold":
        return _parse_threshold(rest)
    if word in ("merge", "split", "theme", "review"):
        return _parse_regroup(word, rest)
    if word == "leads":
        return _parse_leads(rest)
    if word == "export":
        return Export() if not rest else _usage("`/pain export` takes nothing after it.")
    if word == "reaction":
        return _parse_reaction(rest)
    return _parse_digest(rest)


def clean_text(raw: str) -> str:
    """Return a complaint's text as typed; refuse an empty or a huge one."""
    text = " ".join(plain_text(raw).split())
    if not text:
        _usage("Say what hurts, for example `/pain GPU queue takes forever`.")
    if len(text) > MAX_TEXT_LENGTH:
        _usage(
            f"Keep a pain point under {MAX_TEXT_LENGTH:,} characters (this one has {len(text):,}). "
            "Say the problem in a sentence or two; details can go in a thread."
        )
    return text


def _parse_threshold(rest: str) -> Threshold:
    example = "/pain threshold 3 4"
    words = rest.split()
    if not words:
        return Threshold()
    if len(words) != 2:
        _usage(f"Give a number of people and of weeks, for example `{example}`.")
    people, weeks = _number(words[0], example), _number(words[1], example)
    if not 1 <= people <= MAX_THRESHOLD_PEOPLE:
        _usage(f"People go from 1 to {MAX_THRESHOLD_PEOPLE}, for example `{example}`.")
    if not 1 <= weeks <= MAX_WEEKS:
        _usage(f"Weeks go from 1 to {MAX_WEEKS}, for example `{example}`.")
    return Threshold(people, weeks)


def _parse_regroup(word: str, rest: str) -> Command:
    examples = {
        "merge": "/pain merge 14 3",
        "split": "/pain split 14",
        "theme": "/pain theme 14 Slow GPU queue",
        "review": "/pain review 14",
    }
    if word == "review" and not rest:
        return Review()
    number_text, _, tail = rest.partition(" ")
    number, tail = _number(number_text, examples[word]), tail.strip()
    if word == "merge":
        tail = tail.removeprefix("into ").strip()
        into = _number(tail, examples[word])
        if into == number:
            _usage("Merge a pain point into another one, for example `/pain merge 14 3`.")
        return Merge(number, into)
    if word == "theme":
        name = " ".join(plain_text(tail).split())
        if not name:
            _usage(f"Give the theme a name, for example `{examples[word]}`.")
        if len(name) > MAX_THEME_NAME_LENGTH:
            _usage(f"Keep a theme's name to {MAX_THEME_NAME_LENGTH} characters.")
        return NameTheme(number, name)
    if tail:
        _usage(f"`/pain {word}` takes only a number, for example `{examples[word]}`.")
    return Split(number) if word == "split" else Review(number)


def _parse_leads(rest: str) -> Leads:
    action, _, tail = rest.partition(" ")
    action = action.lower()
    if not action:
        return Leads()
    if action not in ("add", "remove"):
        _usage("Use `/pain leads`, `/pain leads add @someone` or `/pain leads remove @someone`.")
    people = tuple(mentioned_users(tail))
    if not people or USER_MENTION.sub("", tail).strip():
        _usage(f"Mention the people, for example `/pain leads {action} @alex`.")
    return Leads(action, people)


def _parse_reaction(rest: str) -> Reaction:
    if not rest:
        return Reaction()
    if rest.lower() == "off":
        return Reaction(off=True)
    emoji = rest.strip(":").lower()
    if not emoji or len(emoji) > 100 or not all(c.isalnum() or c in "_-+'" for c in emoji):
        _usage("Give one emoji, for example `/pain reaction :pain:`, or `/pain reaction off`.")
    return Reaction(emoji=emoji)


def _parse_digest(rest: str) -> Digest:
    example = "/pain digest schedule mon 10:00"
    words = rest.split()
    if not words:
        return Digest()
    if words == ["off"]:
        return Digest(action="off")
    if words[0].lower() != "schedule" or len(words) not in (3, 4):
        _usage(f"Use `/pain digest`, `{example}` or `/pain digest off`.")
    weekday, minute = parse_weekday(words[1]), parse_clock(words[2])
    if weekday is None:
        _usage(f"`{_quote(words[1])}` is not a weekday; try `{example}`.")
    if minute is None:
        _usage(f"`{_quote(words[2])}` is not a 24-hour time like 10:00; try `{example}`.")
    timezone = words[3] if len(words) == 4 else None
    if timezone is not None and not is_known_timezone(timezone):
        _usage(f"`{_quote(timezone)}` is not a timezone; try `{example} Europe/Berlin`.")
    return Digest(action="schedule", weekday=weekday, minute=minute, timezone=timezone)


def _statuses(rest: str) -> tuple[str, ...]:
    if not rest:
        return tuple(status for status in STATUSES if status not in CLOSED_STATUSES)
    if rest.lower() == "all":
        return STATUSES
    status = parse_status(rest)
    if status is None:
        names = ", ".join(STATUS_LABELS.values())
        _usage(f"`{_quote(rest)}` is not a status. Pick one of {names}, or `all`.")
    assert status is not None
    return (status,)


def parse_status(word: str) -> str | None:
    """Read a status as people write it ("in progress", "won't fix"); None when it is not one."""
    return _STATUS_WORDS.get(" ".join(word.lower().replace("’", "'").split()))


def _number(word: str, example: str) -> int:
    word = word.strip().lstrip("#")
    if not word.isdecimal() or len(word) > 9:
        _usage(f"Give a pain point's number, for example `{example}`.")
    return int(word)


def _weeks(rest: str, example: str, default: int) -> int:
    if not rest:
        return default
    weeks = _number(rest, example)
    if not 1 <= weeks <= MAX_WEEKS:
        _usage(f"Weeks go from 1 to {MAX_WEEKS}, for example `{example}`.")
    return weeks


def _quote(word: str) -> str:
    return word[:40].replace("`", "'")


def _usage(message: str) -> Any:
    raise UsageError(message)


# --- similarity -------------------------------------------------------------------------------

_INDEXES: "weakref.WeakKeyDictionary[Engine, dict[Workspace, SimilarityIndex]]" = (
    weakref.WeakKeyDictionary()
)
_INDEXES_LOCK = threading.Lock()
# Ids are handed out before commit, so a transaction may commit a lower id after a higher one was
# indexed; looking back this far picks such late commits up.
_LATE_COMMIT_WINDOW = 200


def _index_of(session: Session) -> dict[Workspace, SimilarityIndex]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _INDEXES_LOCK:
        return _INDEXES.setdefault(engine, {})


def synced_index(session: Session, workspace: Workspace) -> SimilarityIndex:
    """Return the workspace's similarity index, brought up to date with committed pain points."""
    indexes = _index_of(session)
    with _INDEXES_LOCK:
        index = indexes.setdefault(workspace, SimilarityIndex())
    with index.lock:
        if not len(index):
            rows: Iterable[tuple[int, str]] = store.all_texts(session, workspace)
        else:
            newest = index.newest_key
            recent = store.point_ids_after(session, workspace, newest - _LATE_COMMIT_WINDOW)
            if newest not in recent:
                # The database no longer holds what was indexed (it was replaced): start afresh.
                with _INDEXES_LOCK:
                    indexes[workspace] = SimilarityIndex()
                return synced_index(session, workspace)
            rows = store.texts_of(
                session, [point_id for point_id in recent if point_id not in index]
            )
        for point_id, text in rows:
            index.add(point_id, text)
    return index


@dataclass(frozen=True)
class Similar:
    """An existing pain point that looks like the same complaint."""

    point: PainPoint
    theme: PainTheme
    score: float


def similar_points(
    session: Session, workspace: Workspace, text: str
) -> tuple[list[Similar], PainTheme | None]:
    """Return the closest pain points (one per theme) and the theme the text belongs to, if any."""
    index = synced_index(session, workspace)
    with index.lock:
        matches = index.nearest(text, NEIGHBOURS, MIN_MATCH)
    points = store.points_by_id(session, [match.key for match in matches])
    themes = store.themes_by_id(session, [point.theme_id for point in points.values()])
    sizes = store.theme_sizes(session, themes)
    theme_of = {point_id: point.theme_id for point_id, point in points.items()}
    best = best_group(matches, theme_of, sizes)
    group = themes[best] if best is not None else None
    shown: dict[int, Similar] = {}
    for match in matches:
        point = points[match.key]
        if match.score >= SHOW_THRESHOLD and point.theme_id not in shown:
            shown[point.theme_id] = Similar(point, themes[point.theme_id], match.score)
    return list(shown.values())[:SIMILAR_SHOWN], group


# --- capturing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Logged:
    """A pain point just logged: where it went, what looks like it, and who to tell."""

    point: PainPoint
    theme: PainTheme
    grouped: bool
    similar: tuple[Similar, ...]
    already_logged: bool = False


def log_pain(
    session: Session,
    workspace: Workspace,
    reporter: str,
    channel_id: str,
    text: str,
    now: datetime,
    *,
    source: str = "command",
    logged_by: str | None = None,
    permalink: str | None = None,
    message_ts: str | None = None,
) -> Logged:
    """Log a pain point: number it, group it with its theme, count its reporter."""
    store.lock_workspace(session, workspace)
    if message_ts is not None:
        existing = store.find_by_message(session, workspace, channel_id, message_ts)
        if existing is not None:
            return Logged(existing, _theme_of(session, existing), False, (), already_logged=True)
    similar, group = similar_points(session, workspace, text)
    theme = group or _new_theme(session, workspace, now)
    point = _insert_point(
        session,
        PainPoint(
            enterprise_id=workspace.enterprise_id,
            team_id=workspace.team_id,
            number=0,
            text=text,
            reporter_id=reporter,
            logged_by=logged_by or reporter,
            channel_id=channel_id,
            created_at=now,
            theme_id=theme.id or 0,
            source=source,
            permalink=permalink,
            message_ts=message_ts,
        ),
        workspace,
    )
    _add_report(session, workspace, point, reporter, now)
    check_threshold(session, workspace, theme, now)
    return Logged(point, theme, group is not None, tuple(similar))


def _new_theme(session: Session, workspace: Workspace, now: datetime) -> PainTheme:
    theme = PainTheme(
        enterprise_id=workspace.enterprise_id, team_id=workspace.team_id, created_at=now
    )
    session.add(theme)
    session.flush()
    return theme


def _insert_point(session: Session, point: PainPoint, workspace: Workspace) -> PainPoint:
    for _attempt in range(5):
        point.number = store.last_number(session, workspace) + 1
        try:
            with session.begin_nested():
                session.add(point)
            return point
        except IntegrityError:
            # Someone else took the number a moment ago (or logged the same message).
            if point.message_ts is not None and store.find_by_message(
                session, workspace, point.channel_id, point.message_ts
            ):
                raise PainError("That message was just logged as a pain point.") from None
    raise PainError("Too many pain points are being logged at once; try again in a moment.")


def _add_report(
    session: Session, workspace: Workspace, point: PainPoint, user_id: str, now: datetime
) -> bool:
    assert point.id is not None
    if store.has_report(session, point.id, user_id):
        return False
    try:
        with session.begin_nested():
            session.add(
                PainReport(
                    enterprise_id=workspace.enterprise_id,
                    team_id=workspace.team_id,
                    pain_id=point.id,
                    user_id=user_id,
                    at=now,
                )
            )
    except IntegrityError:
        return False  # the same person, a moment ago
    return True


def point_numbered(session: Session, workspace: Workspace, number: int) -> PainPoint:
    """Return pain point n; refuse a number the workspace does not have."""
    point = store.find_point(session, workspace, number)
    if point is None:
        last = store.last_number(session, workspace)
        if last == 0:
            raise PainError(f"There is no pain point {number}: none has been logged yet.")
        raise PainError(f"There is no pain point {number}: numbers go from 1 to {last}.")
    return point


def point_by_id(session: Session, workspace: Workspace, point_id: int) -> PainPoint:
    """Return a pain point by id for a button; refuse one from elsewhere."""
    point = session.get(PainPoint, point_id)
    if point is None or (point.team_id, point.enterprise_id) != (
        workspace.team_id,
        workspace.enterprise_id,
    ):
        raise PainError("That pain point is not in this workspace.")
    return point


def me_too(
    session: Session, workspace: Workspace, user_id: str, number: int, now: datetime
) -> tuple[PainPoint, bool]:
    """Count the person as hitting pain point n; return it and whether they were new to it."""
    store.lock_workspace(session, workspace)
    point = point_numbered(session, workspace, number)
    added = _add_report(session, workspace, point, user_id, now)
    if added:
        check_threshold(session, workspace, _theme_of(session, point), now)
    return point, added


def same_problem(
    session: Session, workspace: Workspace, actor: str, new_id: int, match_id: int, now: datetime
) -> tuple[PainPoint, PainPoint]:
    """Put a new pain point into the theme of the one it repeats, and count the actor there."""
    new, match = point_by_id(session, workspace, new_id), point_by_id(session, workspace, match_id)
    _require_reporter_or_lead(session, workspace, actor, new)
    new.theme_id = match.theme_id
    session.add(new)
    _add_report(session, workspace, match, actor, now)
    check_threshold(session, workspace, _theme_of(session, match), now)
    return new, match


def keep_separate(
    session: Session, workspace: Workspace, actor: str, point_id: int, now: datetime
) -> PainPoint:
    """Take a new pain point out of the theme it was grouped into."""
    point = point_by_id(session, workspace, point_id)
    _require_reporter_or_lead(session, workspace, actor, point)
    _move_to_own_theme(session, workspace, point, now)
    return point


def _require_reporter_or_lead(
    session: Session, workspace: Workspace, actor: str, point: PainPoint
) -> None:
    if actor not in (point.reporter_id, point.logged_by):
        require_lead(session, workspace, actor)


def _move_to_own_theme(
    session: Session, workspace: Workspace, point: PainPoint, now: datetime
) -> bool:
    if store.theme_sizes(session, [point.theme_id]).get(point.theme_id, 0) <= 1:
        return False
    point.theme_id = _new_theme(session, workspace, now).id or 0
    session.add(point)
    return True


def _theme_of(session: Session, point: PainPoint) -> PainTheme:
    theme = session.get(PainTheme, point.theme_id)
    assert theme is not None
    return theme


# --- regrouping by hand -----------------------------------------------------------------------


def merge(
    session: Session, workspace: Workspace, actor: str, number: int, into: int, now: datetime
) -> tuple[PainTheme, int]:
    """Move n's whole theme into the theme of pain point `into`; return it and how many moved."""
    require_lead(session, workspace, actor)
    source, target = (
        point_numbered(session, workspace, number),
        point_numbered(session, workspace, into),
    )
    if source.theme_id == target.theme_id:
        raise PainError(f"Pain points {number} and {into} are already in the same theme.")
    moved = store.points_of_theme(session, source.theme_id)
    for point in moved:
        point.theme_id = target.theme_id
        session.add(point)
    theme = _theme_of(session, target)
    check_threshold(session, workspace, theme, now)
    return theme, len(moved)


def split(
    session: Session, workspace: Workspace, actor: str, number: int, now: datetime
) -> PainPoint:
    """Take pain point n out of its theme into a theme of its own."""
    require_lead(session, workspace, actor)
    point = point_numbered(session, workspace, number)
    if not _move_to_own_theme(session, workspace, point, now):
        raise PainError(f"Pain point {number} is already a theme of its own.")
    return point


def name_theme(
    session: Session, workspace: Workspace, actor: str, number: int, name: str
) -> PainTheme:
    """Name the theme of pain point n."""
    require_lead(session, workspace, actor)
    theme = _theme_of(session, point_numbered(session, workspace, number))
    theme.name = name
    session.add(theme)
    return theme


# --- demand -----------------------------------------------------------------------------------


RISING, STEADY, FALLING = "rising", "steady", "falling"


@dataclass(frozen=True)
class ThemeDemand:
    """A theme with the people who hit it in a window, against the window before."""

    theme: PainTheme
    title: str
    people: int
    previous: int
    first_seen: datetime
    last_seen: datetime
    quote: PainPoint

    @property
    def trend(self) -> str:
        """Say whether demand is rising, steady or falling against the previous window."""
        if self.people > self.previous:
            return RISING
        return FALLING if self.people < self.previous else STEADY


def top_themes(
    session: Session, workspace: Workspace, weeks: int, now: datetime, limit: int = 10
) -> tuple[list[ThemeDemand], int]:
    """Return the themes most people hit lately (with trend), and how many themes had any."""
    window = timedelta(weeks=weeks)
    current = store.demand_between(session, workspace, now - window, now + timedelta(seconds=1))
    previous = store.demand_between(session, workspace, now - 2 * window, now - window)
    ranked = sorted(current, key=lambda theme_id: (-current[theme_id], -theme_id))[:limit]
    return describe_themes(session, ranked, current, previous), len(current)


def describe_themes(
    session: Session, theme_ids: Sequence[int], current: dict[int, int], previous: dict[int, int]
) -> list[ThemeDemand]:
    """Return the demand of these themes, in this order, with their titles and quotes."""
    themes = store.themes_by_id(session, theme_ids)
    spans = store.theme_spans(session, theme_ids)
    quotes = store.latest_points(session, theme_ids)
    founders = store.first_points(session, theme_ids)
    return [
        ThemeDemand(
            theme=themes[theme_id],
            title=themes[theme_id].name or founders[theme_id].text,
            people=current.get(theme_id, 0),
            previous=previous.get(theme_id, 0),
            first_seen=spans[theme_id][0],
            last_seen=spans[theme_id][1],
            quote=quotes[theme_id],
        )
        for theme_id in theme_ids
        if theme_id in quotes
    ]


def theme_title(session: Session, theme: PainTheme) -> str:
    """Return a theme's name, or the words of its first pain point."""
    if theme.name:
        return theme.name
    assert theme.id is not None
    first = store.first_points(session, [theme.id]).get(theme.id)
    # A theme merged into another keeps its id (a pending DM may name it) but no pain points.
    return first.text if first is not None else f"a theme merged into another (#{theme.id})"


def settings_of(session: Session, workspace: Workspace) -> PainSettings:
    """Return the workspace's pain point settings (the defaults when it changed none)."""
    return store.settings_of(session, workspace) or PainSettings(
        enterprise_id=workspace.enterprise_id, team_id=workspace.team_id
    )


def set_threshold(
    session: Session, workspace: Workspace, actor: str, people: int, weeks: int, now: datetime
) -> PainSettings:
    """Change when the leads hear of a growing theme."""
    require_lead(session, workspace, actor)
    settings = settings_of(session, workspace)
    settings.threshold_people, settings.threshold_weeks = people, weeks
    _save_settings(session, settings)
    return settings


def set_reaction(
    session: Session, workspace: Workspace, actor: str, emoji: str | None
) -> PainSettings:
    """Set the reaction that logs a message as a pain point (None turns it off)."""
    require_lead(session, workspace, actor)
    settings = settings_of(session, workspace)
    settings.reaction = emoji
    _save_settings(session, settings)
    return settings


def _save_settings(session: Session, settings: PainSettings) -> None:
    try:
        with session.begin_nested():
            session.add(settings)
    except IntegrityError:
        # A concurrent request saved the workspace's settings first; change those.
        found = store.settings_of(session, Workspace(settings.team_id, settings.enterprise_id))
        assert found is not None
        found.threshold_people, found.threshold_weeks = (
            settings.threshold_people,
            settings.threshold_weeks,
        )
        found.reaction = settings.reaction
        session.add(found)


def check_threshold(
    session: Session, workspace: Workspace, theme: PainTheme, now: datetime
) -> list[str]:
    """Tell the leads once when a theme reaches the demand threshold; return who, if it just did."""
    if theme.crossed_at is not None or theme.id is None:
        return []
    session.flush()
    settings = settings_of(session, workspace)
    people = store.reporters_of_theme(
        session, theme.id, since=now - timedelta(weeks=settings.threshold_weeks)
    )
    if len(people) < settings.threshold_people:
        return []
    theme.crossed_at = now
    session.add(theme)
    for lead in lead_ids(session, workspace):
        _schedule_dm(
            session,
            workspace,
            lead,
            f"threshold:{theme.id}:{lead}",
            {"about": "threshold", "theme_id": theme.id, "people": people},
            now,
        )
    return people


def _schedule_dm(
    session: Session,
    workspace: Workspace,
    user_id: str,
    key: str,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    outbox.schedule_post(
        session,
        workspace=workspace,
        channel_id=user_id,
        kind=DM_KIND,
        due_at=now,
        key=f"{DM_KIND}:{key}",
        now=now,
        payload=payload,
    )


# --- lead review ------------------------------------------------------------------------------


def set_status(
    session: Session,
    workspace: Workspace,
    actor: str,
    theme_id: int,
    status: str,
    note: str,
    now: datetime,
) -> tuple[PainTheme, list[str]]:
    """Set a theme's status and note; everyone who reported it hears of it. Return them."""
    require_lead(session, workspace, actor)
    if status not in STATUSES:
        raise PainError("Pick one of the statuses.")
    if len(note) > MAX_NOTE_LENGTH:
        raise PainError(f"Keep the note to {MAX_NOTE_LENGTH} characters.")
    theme = store.get_theme(session, workspace, theme_id)
    if theme is None or theme.id is None:
        raise PainError("That theme is not in this workspace any more.")
    if theme.status == status and theme.note == note:
        raise PainError(f"The theme is already {STATUS_LABELS[status]} with that note.")
    theme.status, theme.note = status, note
    session.add(theme)
    change = PainStatusChange(theme_id=theme.id, status=status, note=note, actor_id=actor, at=now)
    session.add(change)
    session.flush()
    people = store.reporters_of_theme(session, theme.id)
    for user_id in people:
        _schedule_dm(
            session,
            workspace,
            user_id,
            f"status:{change.id}:{user_id}",
            {"about": "status", "change_id": change.id},
            now,
        )
    return theme, people


def themes_for_review(
    session: Session, workspace: Workspace, now: datetime, limit: int
) -> list[ThemeDemand]:
    """Return the themes a lead reviews: the most demanded lately first, then the rest."""
    window = timedelta(weeks=DEFAULT_TOP_WEEKS)
    current = store.demand_between(session, workspace, now - window, now + timedelta(seconds=1))
    previous = store.demand_between(session, workspace, now - 2 * window, now - window)
    everything = store.theme_ids_of(session, workspace)
    ranked = sorted(everything, key=lambda theme_id: (-current.get(theme_id, 0), -theme_id))
    return describe_themes(session, ranked[:limit], current, previous)


# --- seeing pain points -----------------------------------------------------------------------


@dataclass(frozen=True)
class PointView:
    """A pain point with its theme and the people who hit it."""

    point: PainPoint
    theme: PainTheme
    theme_title: str
    people: tuple[str, ...]
    theme_people: int


def view_point(session: Session, workspace: Workspace, number: int) -> PointView:
    """Return pain point n as people see it."""
    point = point_numbered(session, workspace, number)
    theme = _theme_of(session, point)
    assert point.id is not None and theme.id is not None
    people = store.reporters_of_points(session, [point.id])[point.id]
    return PointView(
        point,
        theme,
        theme_title(session, theme),
        tuple(people),
        len(store.reporters_of_theme(session, theme.id)),
    )


def list_points(
    session: Session, workspace: Workspace, statuses: Sequence[str], limit: int
) -> tuple[list[PointView], int]:
    """Return the newest pain points whose theme has one of the statuses, and how many match."""
    points, total = store.list_points(session, workspace, statuses, limit)
    themes = store.themes_by_id(session, [point.theme_id for point in points])
    people = store.reporters_of_points(session, [point.id or 0 for point in points])
    return [
        PointView(point, themes[point.theme_id], "", tuple(people[point.id or 0]), 0)
        for point in points
    ], total


# --- export -----------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "number",
    "created_at",
    "reporter",
    "channel",
    "text",
    "theme_id",
    "theme",
    "status",
    "people",
    "source",
    "permalink",
    "team_id",
    "enterprise_id",
)


def export_pain_points(
    session_or_engine: Session | Engine,
    fmt: str,
    out: TextIO,
    progress: Callable[[int, int], None] | None = None,
    *,
    workspace: Workspace | None = None,
) -> int:
    """Write every pain point (of one workspace, or all) as CSV or a JSON array; return how many."""
    if fmt not in ("csv", "json"):
        raise ValueError(f"unknown export format {fmt!r}: use csv or json")
    if isinstance(session_or_engine, Engine):
        with session_scope(session_or_engine) as session:
            return _export(session, fmt, out, progress, workspace)
    return _export(session_or_engine, fmt, out, progress, workspace)


def _export(
    session: Session,
    fmt: str,
    out: TextIO,
    progress: Callable[[int, int], None] | None,
    workspace: Workspace | None,
) -> int:
    total = store.count_points(session, workspace)
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS) if fmt == "csv" else None
    if writer is not None:
        writer.writeheader()
    else:
        out.write("[")
    written = 0
    for batch in _batches(store.all_points(session, workspace), 500):
        people = store.reporters_of_points(session, [point.id or 0 for point, _ in batch])
        for point, theme in batch:
            row = _export_row(point, theme, people[point.id or 0])
            if writer is not None:
                writer.writerow({**row, "people": " ".join(row["people"])})
            else:
                out.write(("," if written else "") + "\n  " + json.dumps(row, ensure_ascii=False))
            written += 1
        if progress is not None:
            progress(written, total)
    if writer is None:
        out.write("\n]\n" if written else "]\n")
    return written


def _batches(rows: Any, size: int) -> Any:
    batch: list[Any] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _export_row(point: PainPoint, theme: PainTheme, people: list[str]) -> dict[str, Any]:
    return {
        "number": point.number,
        "created_at": point.created_at.isoformat(),
        "reporter": point.reporter_id,
        "channel": point.channel_id,
        "text": point.text,
        "theme_id": theme.id,
        "theme": theme.name or "",
        "status": theme.status,
        "people": people,
        "source": point.source,
        "permalink": point.permalink or "",
        "team_id": point.team_id,
        "enterprise_id": point.enterprise_id,
    }


# --- the weekly digest ------------------------------------------------------------------------


def new_points_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the pain points the channel logged this week."""
    points = store.points_between(
        session, window.workspace, window.channel_id, window.start, window.end
    )
    lines = tuple(
        DigestLine(f"#{point.number} {point.text}", (point.reporter_id,)) for point in points
    )
    return DigestSection("New pain points", lines, order=20)


def top_themes_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the themes most people hit over the last weeks, with their trend."""
    themes, _count = top_themes(session, window.workspace, DEFAULT_TOP_WEEKS, window.end, limit=5)
    lines = tuple(
        DigestLine(
            f"{demand.title} — {demand.people} {_people_word(demand.people)}, {demand.trend}"
            f" ({STATUS_LABELS[demand.theme.status]})"
        )
        for demand in themes
    )
    return DigestSection(f"Top themes, last {DEFAULT_TOP_WEEKS} weeks", lines, order=30)


def crossed_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the themes that reached the demand threshold this week."""
    crossed = store.crossed_between(session, window.workspace, window.start, window.end)
    lines = tuple(
        DigestLine(
            theme_title(session, theme), tuple(store.reporters_of_theme(session, theme.id or 0))
        )
        for theme in crossed
        if store.theme_sizes(session, [theme.id or 0])
    )
    return DigestSection("Themes that crossed the demand threshold", lines, order=40)


def status_section(session: Session, window: DigestWindow) -> DigestSection | None:
    """Return the status changes leads made this week."""
    changes = store.status_changes_between(session, window.workspace, window.start, window.end)
    lines = tuple(
        DigestLine(
            f"{theme_title(session, theme)} → {STATUS_LABELS[change.status]}"
            + (f": {change.note}" if change.note else ""),
            (change.actor_id,),
        )
        for change, theme in changes
        if store.theme_sizes(session, [theme.id or 0])
    )
    return DigestSection("Status changes", lines, order=50)


def _people_word(count: int) -> str:
    return "person" if count == 1 else "people"


DIGEST_SECTIONS = (new_points_section, top_themes_section, crossed_section, status_section)
