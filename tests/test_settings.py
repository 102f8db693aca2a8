"""Settings: the database URLs people paste, and secrets that never show."""

import pytest

from bot.runtime.settings import Settings, normalize_database_url


@pytest.mark.parametrize(
    ("pasted", "used"),
    [
        ("postgres://me:pw@db:5432/focus", "postgresql+psycopg://me:pw@db:5432/focus"),
        ("postgresql://me@db/focus", "postgresql+psycopg://me@db/focus"),
        ("postgresql+psycopg2://me@db/focus", "postgresql+psycopg://me@db/focus"),
        ("postgresql+psycopg://me@db/focus", "postgresql+psycopg://me@db/focus"),
        ("sqlite:///focusbot.db", "sqlite:///focusbot.db"),
        ("  sqlite:////tmp/x.db ", "sqlite:////tmp/x.db"),
    ],
)
def test_database_urls_are_read_in_the_forms_people_paste(pasted: str, used: str) -> None:
    assert normalize_database_url(pasted) == used


def test_secrets_never_show_in_the_settings_text() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token="xoxb-very-secret",
        slack_signing_secret="signing-very-secret",
        slack_app_token="xapp-very-secret",
    )
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    assert "very-secret" not in shown


def test_missing_credentials_are_named() -> None:
    settings = Settings(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="")  # type: ignore[call-arg]
    assert settings.missing_for_socket_mode() == ["SLACK_APP_TOKEN"]
    assert settings.missing_for_http() == ["SLACK_SIGNING_SECRET"]


def test_each_process_holds_one_connection_per_request_thread_and_a_few_more() -> None:
    assert Settings(_env_file=None, web_threads=8).database_connections == 12  # type: ignore[call-arg]
    chosen = Settings(_env_file=None, web_threads=8, database_pool_size=5)  # type: ignore[call-arg]
    assert chosen.database_connections == 5
