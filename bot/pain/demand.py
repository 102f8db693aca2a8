"""Each workspace's demand in memory: who hit which theme when, to rank themes in a few ms.

Demand is the number of distinct people who hit a theme in a window. Counting it in SQL reads
every report of the window (tens of thousands at 100k pain points), so each process keeps a ledger
of the workspace's reports, synced with the database on every use: new reports are appended (one
small query), and the whole ledger is read again when the database says pain points were
regrouped since (another process may have merged or split themes). The ledger also knows when
each theme was first and last hit, and keeps each theme's first and newest pain point once read:
a pain point comes with its report, so they hold until the next report or regrouping.
"""

import threading
import weakref
from array import array
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import pain as store
from storage import pain_digest as many
from storage.base import Workspace
from storage.db import engine_of
from storage.pain import PainPoint

# Ids are handed out before commit, so a transaction may commit a lower id after a higher one was
# read; looking back this far picks such late commits up.
_LATE_COMMIT_WINDOW = 200
_PERSON_BITS = 20  # a workspace's distinct reporters fit in 2**20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass
class DemandLedger:
    """A workspace's reports as (report id, theme, person, moment) columns."""

    regrouped: int = -1
    newest_id: int = 0
    report_ids: array = field(default_factory=lambda: array("q"))
    themes: array = field(default_factory=lambda: array("q"))
    people: array = field(default_factory=lambda: array("q"))
    moments: array = field(default_factory=lambda: array("q"))  # microseconds since 1970
    person_codes: dict[str, int] = field(default_factory=dict)
    elsewhere: set[int] = field(default_factory=set)
    recent: set[int] = field(default_factory=set)  # the ids held that a sync may look back at
    spans: dict[int, tuple[int, int]] = field(default_factory=dict)  # theme: first, last moment
    # Each theme's first and newest pain point, as read since the last report was added.
    edge_points: dict[int, tuple[PainPoint, PainPoint]] = field(default_factory=dict)
    generation: int = 0  # counts the additions, so a read of pain points knows it is still current
    # Row numbers in time order and their moments, and the demand of each window worked out since
    # the last report was added (by its first and last row in time order): a window that holds
    # the same reports, however time moved on, has the same demand.
    by_time: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    moments_by_time: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    windows: dict[tuple[int, int], "WindowDemand"] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def held_after(self, after_id: int) -> set[int]:
        """Return the ids held above an id, and those of other workspaces' reports seen there.

        The id only grows from one call to the next (the newest held, less a margin).
        """
        self.recent = {report_id for report_id in self.recent if report_id > after_id}
        self.elsewhere = {report_id for report_id in self.elsewhere if report_id > after_id}
        return self.recent | self.elsewhere

    def add_all(self, reports: Iterable[tuple[int, int, str, datetime]]) -> None:
        """Append reports: (id, theme id, person, moment)."""
        for report in reports:
            self.add(*report)

    def add(self, report_id: int, theme_id: int, person: str, at: datetime) -> None:
        """Append a report."""
        self.report_ids.append(report_id)
        self.newest_id = max(self.newest_id, report_id)
        if report_id > self.newest_id - _LATE_COMMIT_WINDOW:
            self.recent.add(report_id)
        self.themes.append(theme_id)
        self.people.append(self.person_codes.setdefault(person, len(self.person_codes)))
        moment = _micros(at)
        self.moments.append(moment)
        first, last = self.spans.get(theme_id, (moment, moment))
        self.spans[theme_id] = (min(first, moment), max(last, moment))
        self.generation += 1
        if self.edge_points:
            self.edge_points.clear()
        if self.windows:
            self.windows.clear()

    def span(self, theme_id: int) -> tuple[datetime, datetime]:
        """Return when a theme the ledger holds was first and last hit."""
        first, last = self.spans[theme_id]
        return _EPOCH + first * _MICROSECOND, _EPOCH + last * _MICROSECOND

    def demand(self, start: datetime, end: datetime) -> "WindowDemand":
        """Return how many distinct people hit each theme in [start, end)."""
        self._put_in_time_order()
        first, end_row = np.searchsorted(self.moments_by_time, [_micros(start), _micros(end)])
        found = self.windows.get((first, end_row))
        if found is None:
            rows = self.by_time[first:end_row]
            themes = np.frombuffer(self.themes, dtype=np.int64)[rows]
            people = np.frombuffer(self.people, dtype=np.int64)[rows]
            found = WindowDemand(*_people_per_theme((themes << _PERSON_BITS) | people))
            self.windows[(first, end_row)] = found
        return found

    def _put_in_time_order(self) -> None:
        """Bring the time order up to date: reports come mostly in time order, so append them."""
        ordered = len(self.by_time)
        if ordered == len(self.moments):
            return
        moments = np.frombuffer(self.moments, dtype=np.int64)
        added = moments[ordered:]
        in_order = bool(np.all(added[1:] >= added[:-1]))
        if in_order and (not ordered or added[0] >= self.moments_by_time[-1]):
            rows = np.arange(ordered, len(moments), dtype=np.int64)
            self.by_time = np.concatenate((self.by_time, rows))
            self.moments_by_time = np.concatenate((self.moments_by_time, added))
            return
        self.by_time = np.argsort(moments, kind="stable")
        self.moments_by_time = moments[self.by_time]


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _people_per_theme(pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Sorting beats np.unique here: numpy 2 dedupes by hashing, ten times slower on these keys.
    if not len(pairs):
        return pairs, pairs
    pairs = np.sort(pairs)
    distinct = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))]
    themes = distinct >> _PERSON_BITS
    starts = np.flatnonzero(np.concatenate(([True], themes[1:] != themes[:-1])))
    return themes[starts], np.diff(np.append(starts, len(themes)))


@dataclass(frozen=True)
class WindowDemand:
    """The themes hit in a window (ascending ids) and the distinct people who hit each."""

    themes: np.ndarray
    people: np.ndarray
    ranked: dict[int, list[int]] = field(default_factory=dict, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.themes)

    def top(self, limit: int) -> list[int]:
        """Return the themes most people hit, the newest theme first among equals."""
        if limit not in self.ranked:
            order = np.lexsort((-self.themes, -self.people))[:limit]
            self.ranked[limit] = self.themes[order].tolist()
        return list(self.ranked[limit])

    def of(self, theme_ids: Sequence[int]) -> dict[int, int]:
        """Return the people who hit these themes (0 for a theme nobody hit)."""
        wanted = np.asarray(theme_ids, dtype=np.int64)
        rows = np.searchsorted(self.themes, wanted)
        inside = np.flatnonzero(rows < len(self.themes))
        matched = inside[self.themes[rows[inside]] == wanted[inside]]
        people = np.zeros(len(wanted), dtype=np.int64)
        people[matched] = self.people[rows[matched]]
        return dict(zip(wanted.tolist(), people.tolist(), strict=True))


_LEDGERS: "weakref.WeakKeyDictionary[Engine, dict[Workspace, DemandLedger]]" = (
    weakref.WeakKeyDictionary()
)
_LEDGERS_LOCK = threading.Lock()


def _ledgers_of(session: Session) -> dict[Workspace, DemandLedger]:
    with _LEDGERS_LOCK:
        return _LEDGERS.setdefault(engine_of(session), {})


def synced_ledger(session: Session, workspace: Workspace) -> DemandLedger:
    """Return the workspace's ledger, brought up to date with committed reports."""
    return synced_ledgers(session, [workspace])[workspace]


def demand_in(
    session: Session, workspace: Workspace, windows: Sequence[tuple[datetime, datetime]]
) -> list[WindowDemand]:
    """Return the demand of each [start, end) window, from the workspace's synced ledger."""
    ledger = synced_ledger(session, workspace)
    with ledger.lock:
        return [ledger.demand(start, end) for start, end in windows]


def demand_in_workspaces(
    session: Session, windows_of: Mapping[Workspace, Sequence[tuple[datetime, datetime]]]
) -> dict[Workspace, list[WindowDemand]]:
    """Return the demand of each workspace's [start, end) windows, its ledger synced with theirs."""
    ledgers = synced_ledgers(session, list(windows_of))
    found = {}
    for workspace, windows in windows_of.items():
        ledger = ledgers[workspace]
        with ledger.lock:
            found[workspace] = [ledger.demand(start, end) for start, end in windows]
    return found


def synced_ledgers(
    session: Session, workspaces: Collection[Workspace]
) -> dict[Workspace, DemandLedger]:
    """Return several workspaces' ledgers, brought up to date together in a few queries.

    Their locks are taken in one order (by workspace), so two callers never wait on each other.
    """
    wanted = sorted(set(workspaces), key=lambda workspace: astuple(workspace))
    regrouped = many.regroupings_of(session, wanted)  # read before the reports it vouches for
    ledgers = _ledgers_of(session)
    with _LEDGERS_LOCK:
        for workspace in wanted:
            ledger = ledgers.get(workspace)
            if ledger is None or ledger.regrouped != regrouped[workspace]:
                ledgers[workspace] = DemandLedger(regrouped=regrouped[workspace])
        chosen = {workspace: ledgers[workspace] for workspace in wanted}
    with ExitStack() as locks:
        for ledger in chosen.values():
            locks.enter_context(ledger.lock)
        empty = [workspace for workspace, ledger in chosen.items() if not len(ledger.report_ids)]
        for workspace, reports in many.reports_of_workspaces(session, empty).items():
            chosen[workspace].add_all(reports)
        _catch_up(session, {w: ledger for w, ledger in chosen.items() if w not in set(empty)})
    return chosen


def _catch_up(session: Session, ledgers: Mapping[Workspace, DemandLedger]) -> None:
    """Append the reports committed since each ledger was synced, read for all at once."""
    if not ledgers:
        return
    after = {w: max(0, ledger.newest_id - _LATE_COMMIT_WINDOW) for w, ledger in ledgers.items()}
    recent = store.report_ids_after(session, min(after.values()))
    unseen = {}
    for workspace, ledger in ledgers.items():
        held = ledger.held_after(after[workspace])
        unseen[workspace] = {got for got in recent if got > after[workspace] and got not in held}
    found = many.reports_by_id_anywhere(session, set().union(*unseen.values()))
    for workspace, ledger in ledgers.items():
        mine = [report for report in found.get(workspace, []) if report[0] in unseen[workspace]]
        ledger.add_all(mine)
        ledger.elsewhere |= unseen[workspace] - {report_id for report_id, *_ in mine}


Spans = dict[int, tuple[datetime, datetime]]


def spans_and_edge_points(
    session: Session, workspace: Workspace, theme_ids: Sequence[int]
) -> tuple[Spans, dict[int, PainPoint], dict[int, PainPoint]]:
    """Return when these themes were first and last hit, their first and their newest pain point.

    From the workspace's ledger as last synced (by `demand_in`, a moment ago): the pain points
    are read only for themes it does not know them of yet. They are shared: read them only. A
    theme without pain points is left out.
    """
    ledger = _ledgers_of(session).get(workspace) or synced_ledger(session, workspace)
    with ledger.lock:
        generation = ledger.generation
        missing = [theme_id for theme_id in theme_ids if theme_id not in ledger.edge_points]
    founders = store.first_points(session, missing)
    newest = store.latest_points(session, missing)
    read = {
        theme_id: (founders[theme_id], newest[theme_id])
        for theme_id in missing
        if theme_id in founders and theme_id in newest
    }
    with ledger.lock:
        if ledger.generation == generation:  # no report since: the points read are current
            ledger.edge_points |= read
        edges = {theme_id: ledger.edge_points.get(theme_id) for theme_id in theme_ids} | read
        known = {
            theme_id: edge
            for theme_id, edge in edges.items()
            if edge is not None and theme_id in ledger.spans
        }
        spans = {theme_id: ledger.span(theme_id) for theme_id in known}
    return (
        spans,
        {theme_id: edge[0] for theme_id, edge in known.items()},
        {theme_id: edge[1] for theme_id, edge in known.items()},
    )
