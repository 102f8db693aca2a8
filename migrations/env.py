"""Run Alembic migrations through the engine focusbot hands over."""

from alembic import context
from sqlalchemy.engine import Engine

from storage.schema import metadata

config = context.config


def run_migrations() -> None:
    """Migrate through the engine in the configuration's attributes."""
    engine = config.attributes["engine"]
    assert isinstance(engine, Engine)
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata(),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
