"""The schema: migrations from empty to head on each database match the models; UTC in and out."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import select

from storage import db
from storage.db import make_engine, session_scope
from storage.focus import FocusList
from storage.schema import current_revision, head_revision, is_current, metadata, upgrade


def test_migrations_build_the_whole_schema_from_empty(empty_engine: Engine) -> None:
    assert current_revision(empty_engine) is None
    upgrade(empty_engine)
    assert is_current(empty_engine)
    assert current_revision(empty_engine) == head_revision(empty_engine)
    tables = set(inspect(empty_engine).get_table_names())
    assert set(metadata().tables) <= tables
    with empty_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata())
    assert differences == []


def test_upgrading_twice_changes_nothing(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    upgrade(empty_engine)
    assert is_current(empty_engine)


def test_timestamps_come_back_aware_and_in_utc(engine: Engine) -> None:
    berlin_noon = datetime(2026, 7, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with session_scope(engine) as session:
        session.add(FocusList(team_id="T1", channel_id="C1", created_at=berlin_noon))
    with session_scope(engine) as session:
        stored = session.exec(select(FocusList)).one().created_at
    assert stored == datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
    assert stored.tzinfo == UTC


def test_naive_timestamps_are_refused(engine: Engine) -> None:
    with pytest.raises(Exception, match="timezone-aware"), session_scope(engine) as session:
        session.add(
            FocusList(team_id="T1", channel_id="C1", created_at=datetime(2026, 7, 1, 12, 0))
        )
        session.flush()


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


@pytest.mark.postgresql_only
def test_a_connection_the_database_closed_while_it_sat_unused_is_replaced(
    engine: Engine, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with engine.connect() as connection:
        pid = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = make_engine(database_url)
    with admin.begin() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar()
    admin.dispose()
    with session_scope(engine) as session:
        assert session.exec(select(FocusList)).all() == []
