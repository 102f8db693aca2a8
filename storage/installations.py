"""Installations of focusbot in many workspaces: slack_sdk's tables, kept in focusbot's database."""

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

INSTALLATIONS_TABLE = "slack_installations"
BOTS_TABLE = "slack_bots"
OAUTH_STATES_TABLE = "slack_oauth_states"
OAUTH_STATE_SECONDS = 600

# The same tables slack_sdk's stores use, declared in focusbot's metadata so Alembic migrates them.
SQLAlchemyInstallationStore.build_installations_table(SQLModel.metadata, INSTALLATIONS_TABLE)
SQLAlchemyInstallationStore.build_bots_table(SQLModel.metadata, BOTS_TABLE)
SQLAlchemyOAuthStateStore.build_oauth_states_table(SQLModel.metadata, OAUTH_STATES_TABLE)


def installation_store(client_id: str, engine: Engine) -> SQLAlchemyInstallationStore:
    """Return the store of installations and bot tokens."""
    return SQLAlchemyInstallationStore(
        client_id=client_id,
        engine=engine,
        bots_table_name=BOTS_TABLE,
        installations_table_name=INSTALLATIONS_TABLE,
    )


def oauth_state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    """Return the store of OAuth states that protect the install flow."""
    return SQLAlchemyOAuthStateStore(
        expiration_seconds=OAUTH_STATE_SECONDS, engine=engine, table_name=OAUTH_STATES_TABLE
    )
