"""The whole schema: every table module, and upgrading a database to the newest revision."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import storage.digest
import storage.focus
import storage.inbox
import storage.installations
import storage.leads
import storage.maker
import storage.milestones
import storage.pain
import storage.pain_matching
import storage.people
import storage.schedule
import storage.socket_mode  # noqa: F401 - every table module is imported so the metadata is whole

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def metadata() -> MetaData:
    """Return the metadata of every focusbot table."""
    return SQLModel.metadata


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic configuration that migrates through this engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the database schema to the newest revision."""
    command.upgrade(alembic_config(engine), "head")


def current_revision(engine: Engine) -> str | None:
    """Return the database's schema revision, None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(engine: Engine) -> str | None:
    """Return the newest revision the code knows."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def is_current(engine: Engine) -> bool:
    """Tell whether the database schema is at the newest revision."""
    return current_revision(engine) == head_revision(engine)
