"""Each workspace's demand in memory: who hit which theme when, to rank themes in a few ms.

Demand is the number of distinct people who hit a theme in a window. Counting it in SQL reads
every report of the window (tens of thousands at 100k pain points), so each process keeps a ledger
of the workspace's reports, synced with the database on every use: new reports are appended (one
small query), and the whole ledger is read again when the database says pain points were
regrouped since (another process may have merged or split themes).
"""

import threading
import weakref
from array import array
from collections.abc import Collection, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import astuple, dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import pain as store
from storage import pain_digest as many
from storage.base import Workspace

# Ids are handed out before commit, so a transaction may commit a lower id after a higher one was
# read; looking back this far picks such late commits up.
_LATE_COMMIT_WINDOW = 200
_PERSON_BITS = 20  # a workspace's distinct reporters fit in 2**20


@dataclass
class DemandLedger:
    """A workspace's reports as (report id, theme, person, moment) columns."""

    regrouped: int = -1
    newest_id: int = 0
    report_ids: array = field(default_factory=lambda: array("q"))
    themes: array = field(default_factory=lambda: array("q"))
    people: array = field(default_factory=lambda: array("q"))
    moments: array = field(default_factory=lambda: array("d"))
    person_codes: dict[str, int] = field(default_factory=dict)
    elsewhere: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def held_after(self, after_id: int) -> set[int]:
        """Return the ids held above an id, and those of other workspaces' reports seen there."""
        ids = np.frombuffer(self.report_ids, dtype=np.int64)
        self.elsewhere = {report_id for report_id in self.elsewhere if report_id > after_id}
        return set(ids[ids > after_id].tolist()) | self.elsewhere

    def add_all(self, reports: Iterable[tuple[int, int, str, datetime]]) -> None:
        """Append reports: (id, theme id, person, moment)."""
        for report in reports:
            self.add(*report)

    def add(self, report_id: int, theme_id: int, person: str, at: datetime) -> None:
        """Append a report."""
        self.report_ids.append(report_id)
        self.newest_id = max(self.newest_id, report_id)
        self.themes.append(theme_id)
        self.people.append(self.person_codes.setdefault(person, len(self.person_codes)))
        self.moments.append(at.timestamp())

    def demand(self, start: datetime, end: datetime) -> "WindowDemand":
        """Return how many distinct people hit each theme in [start, end)."""
        moments = np.frombuffer(self.moments, dtype=np.float64)
        inside = (moments >= start.timestamp()) & (moments < end.timestamp())
        themes = np.frombuffer(self.themes, dtype=np.int64)[inside]
        people = np.frombuffer(self.people, dtype=np.int64)[inside]
        return WindowDemand(*_people_per_theme((themes << _PERSON_BITS) | people))


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

    def __len__(self) -> int:
        return len(self.themes)

    def top(self, limit: int) -> list[int]:
        """Return the themes most people hit, the newest theme first among equals."""
        return self.themes[np.lexsort((-self.themes, -self.people))[:limit]].tolist()

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
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with _LEDGERS_LOCK:
        return _LEDGERS.setdefault(engine, {})


def synced_ledger(session: Session, workspace: Workspace) -> DemandLedger:
    """Return the workspace's ledger, brought up to date with committed reports."""
    ledgers = _ledgers_of(session)
    regrouped = store.regroupings(session, workspace)  # read before the reports it vouches for
    with _LEDGERS_LOCK:
        ledger = ledgers.get(workspace)
        if ledger is None or ledger.regrouped != regrouped:
            ledger = ledgers[workspace] = DemandLedger(regrouped=regrouped)
    with ledger.lock:
        if not len(ledger.report_ids):
            ledger.add_all(store.reports_of(session, workspace))
        else:
            after = max(0, ledger.newest_id - _LATE_COMMIT_WINDOW)
            held = ledger.held_after(after)
            unseen = [got for got in store.report_ids_after(session, after) if got not in held]
            found = store.reports_by_id(session, workspace, unseen)
            ledger.add_all(found)
            ledger.elsewhere |= set(unseen) - {report_id for report_id, *_ in found}
    return ledger


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
