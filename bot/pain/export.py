"""Write every pain point out as CSV or as a JSON array."""

import csv
import json
from collections.abc import Callable
from typing import Any, TextIO

from sqlalchemy.engine import Engine
from sqlmodel import Session

from storage import pain as store
from storage.base import Workspace
from storage.db import session_scope
from storage.pain import PainPoint, PainTheme

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
