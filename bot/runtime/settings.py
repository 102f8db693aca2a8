"""Read focusbot's configuration once, from the environment and an optional `.env`."""

from pathlib import Path

from pydantic import PositiveFloat, PositiveInt, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SLACK_API_URL = "https://slack.com/api/"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Connections beyond one per request thread: the scheduler's tick and background jobs.
SPARE_CONNECTIONS = 4
DATABASE_URL_EXAMPLES = "sqlite:///focusbot.db or postgresql://user:password@host:5432/focusbot"


def normalize_database_url(url: str) -> str:
    """Turn the URL forms people paste into ones SQLAlchemy drives with psycopg 3."""
    url = url.strip()
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def check_database_url(url: str) -> str:
    """Normalise a database URL, refusing one that is not SQLite or PostgreSQL.

    The message never quotes the URL: it may hold a password.
    """
    url = normalize_database_url(url)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise ValueError(f"is not a database URL; write it like {DATABASE_URL_EXAMPLES}") from None
    if backend not in ("sqlite", "postgresql"):
        raise ValueError(
            f"names a {backend} database; focusbot keeps its data in SQLite or PostgreSQL, "
            f"like {DATABASE_URL_EXAMPLES}"
        )
    return url


class Settings(BaseSettings):
    """Everything focusbot reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_api_url: str = SLACK_API_URL
    database_url: str = "sqlite:///focusbot.db"
    # The console's own database, so that trying focusbot never touches DATABASE_URL's data.
    console_database_url: str = "sqlite:///focusbot-console.db"
    # Requests one process serves at once over HTTP, and the database connections it may hold
    # (default: one per thread and a few for the scheduler and background work).
    web_threads: PositiveInt = 16
    database_pool_size: PositiveInt | None = None
    scheduler_tick_seconds: PositiveFloat = 30.0
    scheduler_lease_seconds: PositiveFloat = 300.0
    log_level: str = "INFO"
    log_json: bool = False
    # Calendar feeds on private, loopback or link-local addresses (an on-premises calendar server).
    calendar_private_addresses: bool = False
    # Pain point matching by meaning: a sentence-embedding model folder (ONNX), or an
    # OpenAI-compatible embeddings endpoint. Without either, pain points are matched by words.
    pain_model_path: Path | None = None
    pain_embeddings_url: str | None = None
    pain_embeddings_model: str = "text-embedding-3-small"
    pain_embeddings_api_key: SecretStr | None = None
    pain_embeddings_timeout_seconds: float = 2.0
    pain_embeddings_batch_size: int = 64

    @field_validator("database_url", "console_database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        return check_database_url(value)

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return level

    @field_validator("slack_api_url")
    @classmethod
    def _end_with_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator(
        "slack_bot_token",
        "slack_app_token",
        "slack_signing_secret",
        "slack_client_id",
        "slack_client_secret",
        "pain_model_path",
        "pain_embeddings_url",
        "pain_embeddings_api_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def database_connections(self) -> int:
        """Return how many database connections one process may hold at once."""
        return self.database_pool_size or self.web_threads + SPARE_CONNECTIONS

    def missing_for_socket_mode(self) -> list[str]:
        """Name the variables Socket Mode still needs."""
        return [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", self.slack_bot_token),
                ("SLACK_APP_TOKEN", self.slack_app_token),
            )
            if value is None
        ]

    def any_slack_credential(self) -> bool:
        """Tell whether any Slack token, secret or OAuth credential is set."""
        return any(
            value is not None
            for value in (
                self.slack_bot_token,
                self.slack_app_token,
                self.slack_signing_secret,
                self.slack_client_id,
                self.slack_client_secret,
            )
        )

    def secret_values(self) -> list[str]:
        """Return every secret's value, for logs to hide."""
        secrets = (
            self.slack_bot_token,
            self.slack_app_token,
            self.slack_signing_secret,
            self.slack_client_secret,
            self.pain_embeddings_api_key,
        )
        return [secret.get_secret_value() for secret in secrets if secret is not None]

    @property
    def installs_in_many_workspaces(self) -> bool:
        """Tell whether focusbot installs through OAuth rather than one bot token."""
        return self.slack_client_id is not None and self.slack_client_secret is not None

    def missing_for_http(self) -> list[str]:
        """Name the variables HTTP mode still needs (OAuth installs need no bot token)."""
        needed = [("SLACK_SIGNING_SECRET", self.slack_signing_secret)]
        if not self.installs_in_many_workspaces:
            needed.insert(0, ("SLACK_BOT_TOKEN", self.slack_bot_token))
        return [name for name, value in needed if value is None]
