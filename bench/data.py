"""Grow a focusbot database to a size: pain points with their themes and reporters, focus
events, milestones, maker schedules with their calendars' meetings, and scheduled posts,
bulk-inserted through the tables (not the domain)."""

import csv
import random
import shutil
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Engine

from storage.db import make_engine
from storage.digest import DigestSchedule
from storage.focus import FocusEvent, FocusItem, FocusList
from storage.maker import MakerCalendar, MakerMeeting, MakerMember, MakerSchedule
from storage.milestones import Milestone, MilestoneBoard, MilestoneEvent
from storage.pain import PainPoint, PainReport, PainTheme
from storage.schedule import ScheduledPost
from storage.schema import head_revision, upgrade

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
SAMPLES = ROOT / "tests" / "data" / "pain_points.csv"
# Bump when the generated data changes, so cached databases are rebuilt.
GENERATOR_VERSION = 3

TEAM = "T0LOCAL"
DIGEST_CHANNEL = "C0BENCH00"
CHANNELS = tuple(f"C0BENCH{index:02d}" for index in range(10))
PEOPLE = tuple(f"U0BENCH{index:03d}" for index in range(120))
OPEN_MILESTONES_PER_BOARD = 12  # the newest; a team's board, whatever its history
MEMBERS_PER_CHANNEL = len(PEOPLE) // len(CHANNELS)
CALENDARS_PER_CHANNEL = 4  # the members who linked their calendar
MEETINGS_AROUND_NOW = (timedelta(days=-14), timedelta(days=90))  # two a workday per calendar
HISTORY = timedelta(days=730)
POINTS_PER_THEME = 4
# "Now" of every dataset: data ends here, and measurements run at this moment.
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PLACES = tuple(
    f"{word}-{number}"
    for word in ("cluster", "project", "pipeline", "service", "notebook", "region", "bucket")
    for number in range(1, 300)
)
DETAILS = (
    "again today",
    "since the upgrade",
    "for the third time this sprint",
    "blocking the release",
    "and nobody knows who owns it",
    "every single morning",
    "on the shared nodes",
    "after the migration",
)


def samples() -> list[tuple[str, str]]:
    """Return the labelled complaints the synthetic ones are made from: (group, text)."""
    with SAMPLES.open(newline="") as handle:
        return [(row["group"], row["text"]) for row in csv.DictReader(handle)]


def dataset(size: int) -> Path:
    """Return a SQLite file holding a dataset of `size` pain points, building it once."""
    CACHE.mkdir(parents=True, exist_ok=True)
    probe = make_engine("sqlite://")
    try:
        head = head_revision(probe)
    finally:
        probe.dispose()
    path = CACHE / f"focusbot-{size}-{head}-v{GENERATOR_VERSION}.db"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{partial}")
        try:
            upgrade(engine)
            fill(engine, size)
        finally:
            engine.dispose()
        partial.rename(path)
    return path


def working_copy(size: int, where: Path) -> str:
    """Copy the cached dataset to a scratch file (the benchmarks write); return its URL."""
    target = where / f"focusbot-{size}-{uuid.uuid4().hex[:8]}.db"  # never beside an old WAL
    shutil.copyfile(dataset(size), target)
    return f"sqlite:///{target}"


@contextmanager
def postgres_copy(base_url: str, size: int) -> Iterator[str]:
    """Fill a throw-away schema of a PostgreSQL database with a dataset; yield its URL."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in base_url else "?"
    url = f"{base_url}{separator}options=-csearch_path%3D{schema}"
    try:
        engine = make_engine(url)
        upgrade(engine)
        fill(engine, size)
        _analyze(engine, schema)
        engine.dispose()
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def _analyze(engine: Engine, schema: str) -> None:
    """Give the planner statistics, as autovacuum would soon after (it may be off on a server).

    Without them it guesses one row per workspace and reads all 100k to find a few.
    """
    with engine.begin() as connection:
        tables = connection.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"), {"schema": schema}
        ).scalars()
        for table in list(tables):
            connection.execute(text(f'ANALYZE {schema}."{table}"'))


def fill(engine: Engine, size: int, seed: int = 7) -> None:
    """Insert a dataset of `size` pain points and everything that goes with them."""
    rng = random.Random(seed)
    with engine.begin() as connection:

        def put(table: Table, rows: Iterator[dict[str, Any]]) -> None:
            for batch in _batches(rows, 5000):
                connection.execute(insert(table), batch)

        put(_table(DigestSchedule), _digest_schedules())
        themes = _themes(size, rng)
        put(_table(PainTheme), (theme for theme, _group in themes))
        points = list(_points(size, themes, rng))
        put(_table(PainPoint), iter(points))
        put(_table(PainReport), _reports(points, rng))
        put(_table(FocusList), _focus_lists())
        put(_table(FocusItem), _focus_items(size, rng))
        put(_table(FocusEvent), _focus_events(size, rng))
        put(_table(MilestoneBoard), _boards())
        put(_table(Milestone), _milestones(size, rng))
        put(_table(MilestoneEvent), _milestone_events(size, rng))
        put(_table(MakerSchedule), _maker_schedules())
        put(_table(MakerMember), _maker_members())
        put(_table(MakerCalendar), _maker_calendars())
        put(_table(MakerMeeting), _maker_meetings(rng))
        put(_table(ScheduledPost), _sent_posts(size, rng))
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection)


def add_due_posts(engine: Engine, count: int, due: datetime) -> None:
    """Put `count` pain point DMs due at `due` in the outbox (a crowd of threshold notices)."""
    with engine.begin() as connection:
        found = connection.execute(text("SELECT DISTINCT theme_id FROM pain_point ORDER BY 1"))
        theme_ids = [row[0] for row in found]
        rows = (
            {
                "enterprise_id": "",
                "team_id": TEAM,
                "channel_id": PEOPLE[index % len(PEOPLE)],
                "kind": "pain.dm",
                "payload": (
                    f'{{"about": "threshold", "theme_id": {theme_ids[index % len(theme_ids)]},'
                    f' "people": ["{PEOPLE[0]}", "{PEOPLE[1]}", "{PEOPLE[2]}"]}}'
                ),
                "due_at": due,
                "next_attempt_at": due,
                "idempotency_key": f"bench.due:{index}",
                "state": "pending",
                "attempts": 0,
                "created_at": due,
            }
            for index in range(count)
        )
        for batch in _batches(rows, 5000):
            connection.execute(insert(_table(ScheduledPost)), batch)


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _moment(rng: random.Random) -> datetime:
    """Return a moment in the history, more of them recent (a team grows)."""
    return NOW - HISTORY * (rng.random() ** 1.5)


def _digest_schedules() -> Iterator[dict[str, Any]]:
    for channel in CHANNELS:
        yield {
            "enterprise_id": "",
            "team_id": TEAM,
            "channel_id": channel,
            "weekday": 0,
            "minute": 600,
            "timezone": "Europe/Berlin",
            "created_at": NOW - HISTORY,
        }


def _themes(size: int, rng: random.Random) -> list[tuple[dict[str, Any], str]]:
    groups = sorted({group for group, _ in samples()})
    themes = []
    for theme_id in range(1, max(size // POINTS_PER_THEME, len(groups)) + 1):
        status = rng.choices(("new", "acknowledged", "planned", "solved"), (70, 15, 10, 5))[0]
        theme = {
            "id": theme_id,
            "enterprise_id": "",
            "team_id": TEAM,
            "name": None,
            "status": status,
            "note": "",
            "created_at": NOW - HISTORY,
            "crossed_at": _moment(rng) if rng.random() < 0.05 else None,
        }
        themes.append((theme, groups[theme_id % len(groups)]))
    return themes


def _points(
    size: int, themes: Sequence[tuple[dict[str, Any], str]], rng: random.Random
) -> Iterator[dict[str, Any]]:
    by_group: dict[str, list[str]] = {}
    for group, sample in samples():
        by_group.setdefault(group, []).append(sample)
    moments = sorted(_moment(rng) for _ in range(size))
    for number, created_at in enumerate(moments, start=1):
        theme, group = themes[rng.randrange(len(themes))]
        words = f"{rng.choice(by_group[group])} on {rng.choice(PLACES)} {rng.choice(DETAILS)}"
        reporter = rng.choice(PEOPLE)
        yield {
            "id": number,
            "enterprise_id": "",
            "team_id": TEAM,
            "number": number,
            "text": words,
            "reporter_id": reporter,
            "logged_by": reporter,
            "channel_id": rng.choice(CHANNELS),
            "created_at": created_at,
            "theme_id": theme["id"],
            "source": "command",
            "permalink": None,
            "message_ts": None,
        }


def _reports(points: Sequence[dict[str, Any]], rng: random.Random) -> Iterator[dict[str, Any]]:
    for point in points:
        people = {point["reporter_id"], *rng.sample(PEOPLE, rng.choice((0, 0, 1, 2)))}
        for person in sorted(people):
            at = point["created_at"]
            if person != point["reporter_id"]:
                at = min(NOW, at + timedelta(days=rng.random() * 30))
            yield {
                "enterprise_id": "",
                "team_id": TEAM,
                "pain_id": point["id"],
                "user_id": person,
                "at": at,
            }


def _focus_lists() -> Iterator[dict[str, Any]]:
    for list_id, channel in enumerate(CHANNELS, start=1):
        yield {"id": list_id, **focus_list_row(TEAM, channel, NOW - HISTORY)}


def focus_list_row(team: str, channel: str, created: datetime) -> dict[str, Any]:
    """Return a channel's focus list as a row: three items, a check-in Mondays 09:30 in Berlin."""
    return {
        "enterprise_id": "",
        "team_id": team,
        "channel_id": channel,
        "is_personal": False,
        "cap": 3,
        "stall_weeks": 6,
        "checkin_weekday": 0,
        "checkin_minute": 570,
        "timezone": "Europe/Berlin",
        "created_at": created,
    }


def _focus_items(size: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    for item_id in range(1, max(size // 10, 30) + 1):
        list_id = (item_id - 1) % len(CHANNELS) + 1
        is_open = item_id > max(size // 10, 30) - 3 * len(CHANNELS)
        added_at = _moment(rng)
        yield {
            "id": item_id,
            "list_id": list_id,
            "text": f"Ship {rng.choice(PLACES)} {item_id}",
            "position": item_id,
            "state": "open" if is_open else rng.choice(("done", "done", "dropped")),
            "added_by": rng.choice(PEOPLE),
            "added_at": added_at,
            "closed_by": None if is_open else rng.choice(PEOPLE),
            "closed_at": None if is_open else min(NOW, added_at + timedelta(days=20)),
            "close_reason": None,
        }


def _focus_events(size: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    items = max(size // 10, 30)
    for _ in range(size):
        item_id = rng.randrange(1, items + 1)
        yield {
            "list_id": (item_id - 1) % len(CHANNELS) + 1,
            "item_id": item_id,
            "kind": rng.choice(("added", "done", "dropped", "moved")),
            "actor_id": rng.choice(PEOPLE),
            "at": _moment(rng),
            "item_text": f"Ship {rng.choice(PLACES)} {item_id}",
            "detail": "",
        }


def _boards() -> Iterator[dict[str, Any]]:
    for board_id, channel in enumerate(CHANNELS, start=1):
        yield {
            "id": board_id,
            "enterprise_id": "",
            "team_id": TEAM,
            "channel_id": channel,
            "vision": "Every model in production is reproducible and monitored",
            "cadence_weeks": 13,
            "timezone": "Europe/Berlin",
            "created_at": NOW - HISTORY,
        }


def _milestones(size: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    count = max(size // 20, 10)
    for milestone_id in range(1, count + 1):
        created_at = _moment(rng)
        board_id = (milestone_id - 1) % len(CHANNELS) + 1
        is_open = milestone_id > count - OPEN_MILESTONES_PER_BOARD * len(CHANNELS)
        target = created_at + timedelta(days=rng.randrange(30, 300))
        if is_open:
            target = NOW + timedelta(days=rng.randrange(14, 200))
        yield {
            "id": milestone_id,
            "board_id": board_id,
            "number": (milestone_id - 1) // len(CHANNELS) + 1,
            "title": f"Launch {rng.choice(PLACES)}",
            "target": target.date(),
            "confidence": rng.randrange(10, 100, 10),
            "state": "open" if is_open else rng.choices(("achieved", "dropped"), (85, 15))[0],
            "created_by": rng.choice(PEOPLE),
            "created_at": created_at,
            "revisit_anchor": created_at,
            "revisit_round": 0,
        }


def _milestone_events(size: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    milestones = max(size // 20, 10)
    for _ in range(size // 2):
        kind = rng.choice(("confidence", "target", "created"))
        before, after = "50", "60"
        if kind == "target":
            before, after = date(2026, 3, 1).isoformat(), date(2026, 4, 1).isoformat()
        yield {
            "milestone_id": rng.randrange(1, milestones + 1),
            "kind": kind,
            "actor_id": rng.choice(PEOPLE),
            "at": _moment(rng),
            "before": before,
            "after": after,
            "reason": "",
            "confidence": 50,
        }


def members_of(channel: str) -> tuple[str, ...]:
    """Return the people who belong to a channel's team (they used `/maker` there)."""
    first = CHANNELS.index(channel) * MEMBERS_PER_CHANNEL
    return PEOPLE[first : first + MEMBERS_PER_CHANNEL]


def _maker_schedules() -> Iterator[dict[str, Any]]:
    for channel in CHANNELS:
        yield {
            "enterprise_id": "",
            "team_id": TEAM,
            "channel_id": channel,
            "timezone": "Europe/Berlin",
            "windows": "540-585,780-840,990-1050",
            "day_start": 9 * 60,
            "day_end": 17 * 60 + 30,
            "meeting_free_days": "2",
            "long_minutes": 30,
            "big_attendees": 6,
            "defer_posts": True,
            "updated_by": members_of(channel)[0],
            "updated_at": NOW - HISTORY,
        }


def _maker_members() -> Iterator[dict[str, Any]]:
    for channel in CHANNELS:
        for person in members_of(channel):
            yield {
                "enterprise_id": "",
                "team_id": TEAM,
                "channel_id": channel,
                "user_id": person,
                "seen_at": NOW,
            }


def _calendar_owners() -> list[str]:
    return [
        person for channel in CHANNELS for person in members_of(channel)[:CALENDARS_PER_CHANNEL]
    ]


def _maker_calendars() -> Iterator[dict[str, Any]]:
    # No poll is scheduled for them: nothing ever fetches these addresses.
    for calendar_id, person in enumerate(_calendar_owners(), start=1):
        yield {
            "id": calendar_id,
            "enterprise_id": "",
            "team_id": TEAM,
            "user_id": person,
            "url": f"https://calendar.invalid/{person}.ics",
            "linked_at": NOW - HISTORY,
            "last_read_at": NOW,
            "expanded_at": NOW,
            "unreadable_entries": 0,
        }


def _maker_meetings(rng: random.Random) -> Iterator[dict[str, Any]]:
    first, last = (NOW + offset for offset in MEETINGS_AROUND_NOW)
    days = [first + timedelta(days=n) for n in range((last - first).days)]
    for calendar_id in range(1, len(_calendar_owners()) + 1):
        for day in (day for day in days if day.weekday() < 5):
            for slot in range(2):
                start = day.replace(hour=rng.randrange(7, 16), minute=rng.choice((0, 30)))
                yield {
                    "calendar_id": calendar_id,
                    "occurrence_key": f"{day.date().isoformat()}-{slot}",
                    "start": start,
                    "end": start + timedelta(minutes=rng.choice((30, 45, 60))),
                    "people": rng.randrange(2, 12),
                    "organizer": "",
                    "summary": "Sync",
                }


def _sent_posts(size: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    for index in range(size):
        due = _moment(rng)
        yield {
            "enterprise_id": "",
            "team_id": TEAM,
            "channel_id": rng.choice(CHANNELS),
            "kind": rng.choice(("focus.checkin", "digest.weekly", "pain.dm")),
            "payload": "{}",
            "due_at": due,
            "next_attempt_at": due,
            "idempotency_key": f"bench.sent:{index}",
            "state": "sent",
            "attempts": 1,
            "sent_at": due,
            "created_at": due,
        }


def _reset_sequences(connection: Any) -> None:
    tables = (
        "pain_theme",
        "pain_point",
        "focus_list",
        "focus_item",
        "milestone_board",
        "milestone",
        "maker_calendar",
    )
    for table in tables:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        )
