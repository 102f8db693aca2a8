"""`focusbot doctor`: what it says about tokens, scopes, the database and the schema."""

import socket
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy.engine import Engine

from bot.console.fakeslack import BOT_USER_ID, FakeSlack, Scripted
from bot.runtime.doctor import (
    DATABASE_CHECK,
    MODE_CHECK,
    OAUTH_CHECK,
    SCHEMA_CHECK,
    SCOPES_CHECK,
    TOKEN_CHECK,
    Finding,
    check,
    diagnose,
    exit_code,
    render,
    scopes_finding,
    slack_client,
)
from bot.runtime.manifest import bot_scopes
from bot.runtime.settings import Settings
from storage.db import make_engine
from storage.schema import alembic_config, head_revision, upgrade
from tests.conftest import SIGNING_SECRET

BOT_TOKEN = "xoxb-1111-2222-doctorSecretValue"
APP_TOKEN = "xapp-1-A1-2-doctorAppSecret"
PASSWORD = "d0ct0r-Pa55w0rd"
CLIENT_SECRET = "d0ct0r-oauth-client-secret"
SCOPES = list(bot_scopes())


def settings(fake: FakeSlack, database_url: str = "sqlite://", **overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_app_token": None,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake.base_url,
        "database_url": database_url,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def run(fake: FakeSlack, engine: Engine, **overrides: object) -> dict[str, Finding]:
    chosen = settings(fake, **overrides)
    findings = diagnose(chosen, engine, slack_client(chosen))
    text = render(findings)
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, PASSWORD, CLIENT_SECRET):
        assert secret not in text
    return {finding.check: finding for finding in findings}


@pytest.fixture
def migrated(empty_engine: Engine) -> Engine:
    upgrade(empty_engine)
    return empty_engine


def test_all_is_well_names_the_workspace_and_bot_and_exits_zero(
    fake_slack: FakeSlack, migrated: Engine
) -> None:
    fake_slack.scopes = [*SCOPES, "users:read.email"]
    chosen = settings(fake_slack)
    findings = diagnose(chosen, migrated, slack_client(chosen))
    by_check = {finding.check: finding for finding in findings}
    assert all(finding.ok for finding in findings), render(findings)
    assert "focusbot local" in by_check[TOKEN_CHECK].detail
    assert BOT_USER_ID in by_check[TOKEN_CHECK].detail
    assert "HTTP mode" in by_check[MODE_CHECK].detail
    assert f"up to date (revision {head_revision(migrated)})" in by_check[SCHEMA_CHECK].detail
    assert exit_code(findings) == 0
    assert render(findings).endswith("Everything focusbot needs is in place.")
    assert fake_slack.calls_to("auth.test"), "the token is checked with Slack itself"


def test_an_invalid_token_says_so_and_how_to_fix_it_without_printing_it(
    fake_slack: FakeSlack, migrated: Engine
) -> None:
    fake_slack.script("auth.test", Scripted(200, {"ok": False, "error": "invalid_auth"}))
    chosen = settings(fake_slack)
    findings = diagnose(chosen, migrated, slack_client(chosen))
    by_check = {finding.check: finding for finding in findings}
    token = by_check[TOKEN_CHECK]
    assert not token.ok
    assert "Slack does not accept SLACK_BOT_TOKEN" in token.detail
    assert "OAuth & Permissions" in token.detail
    assert not by_check[SCOPES_CHECK].ok and "not checked" in by_check[SCOPES_CHECK].detail
    assert by_check[DATABASE_CHECK].ok
    assert exit_code(findings) == 1
    assert BOT_TOKEN not in render(findings)
    assert "2 checks did not pass" in render(findings)


def test_a_missing_token_is_named(fake_slack: FakeSlack, migrated: Engine) -> None:
    found = run(fake_slack, migrated, slack_bot_token=None)
    assert not found[TOKEN_CHECK].ok
    assert "SLACK_BOT_TOKEN is not set" in found[TOKEN_CHECK].detail
    assert fake_slack.calls_to("auth.test") == []


def test_oauth_installs_need_no_single_bot_token(fake_slack: FakeSlack, migrated: Engine) -> None:
    found = run(
        fake_slack,
        migrated,
        slack_bot_token=None,
        slack_client_id="1234.5678",
        slack_client_secret=CLIENT_SECRET,
    )
    assert found[OAUTH_CHECK].ok and "client id 1234.5678" in found[OAUTH_CHECK].detail
    assert found[TOKEN_CHECK].ok and "/slack/install" in found[TOKEN_CHECK].detail
    assert found[MODE_CHECK].ok and "HTTP mode" in found[MODE_CHECK].detail
    assert fake_slack.calls_to("auth.test") == []


def test_half_configured_oauth_names_what_is_missing(
    fake_slack: FakeSlack, migrated: Engine
) -> None:
    oauth = run(fake_slack, migrated, slack_client_id="1234.5678")[OAUTH_CHECK]
    assert not oauth.ok
    assert "SLACK_CLIENT_ID is set but SLACK_CLIENT_SECRET is not" in oauth.detail


def test_an_unreachable_slack_is_told_apart_from_a_bad_token(migrated: Engine) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    chosen = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=f"http://127.0.0.1:{port}/api/",
    )
    finding = diagnose(chosen, migrated, slack_client(chosen))[0]
    assert not finding.ok
    assert f"Cannot reach Slack at http://127.0.0.1:{port}/api/" in finding.detail


def test_missing_scopes_are_named_with_the_advice_to_reinstall(
    fake_slack: FakeSlack, migrated: Engine
) -> None:
    fake_slack.scopes = [scope for scope in SCOPES if scope not in ("files:write", "im:write")]
    scopes = run(fake_slack, migrated)[SCOPES_CHECK]
    assert not scopes.ok
    assert "lacks 2 of the scopes app.yaml asks for: im:write, files:write" in scopes.detail
    assert "reinstall the app" in scopes.detail


def test_scopes_are_not_compared_without_slacks_answer_or_a_manifest(tmp_path: Path) -> None:
    unknown = scopes_finding(None)
    assert unknown.ok and "not compared" in unknown.detail
    without_manifest = scopes_finding("commands", tmp_path / "app.yaml")
    assert without_manifest.ok and "app.yaml is missing" in without_manifest.detail


def test_the_scopes_compared_are_those_of_the_manifest() -> None:
    assert "commands" in SCOPES and "chat:write" in SCOPES
    assert len(set(SCOPES)) == len(SCOPES)


def test_socket_mode_needs_an_app_level_token(fake_slack: FakeSlack, migrated: Engine) -> None:
    fake_slack.scopes = SCOPES
    chosen = settings(fake_slack, slack_signing_secret=None)
    missing = diagnose(chosen, migrated, slack_client(chosen), mode="socket")
    mode = {finding.check: finding for finding in missing}[MODE_CHECK]
    assert not mode.ok and "Socket Mode needs SLACK_APP_TOKEN" in mode.detail
    wrong = run(fake_slack, migrated, slack_app_token=BOT_TOKEN)[MODE_CHECK]
    assert not wrong.ok and "does not start with xapp-" in wrong.detail
    right = run(fake_slack, migrated, slack_app_token=APP_TOKEN)[MODE_CHECK]
    assert right.ok and "Socket Mode" in right.detail


def test_http_mode_needs_the_signing_secret(fake_slack: FakeSlack, migrated: Engine) -> None:
    chosen = settings(fake_slack, slack_signing_secret=None)
    findings = diagnose(chosen, migrated, slack_client(chosen), mode="http")
    mode = {finding.check: finding for finding in findings}[MODE_CHECK]
    assert not mode.ok
    assert "HTTP mode needs SLACK_SIGNING_SECRET" in mode.detail


def test_with_neither_mode_set_up_socket_mode_is_offered_first(
    fake_slack: FakeSlack, migrated: Engine
) -> None:
    mode = run(fake_slack, migrated, slack_signing_secret=None)[MODE_CHECK]
    assert not mode.ok
    assert "no way to receive Slack's requests is set" in mode.detail
    assert mode.detail.index("SLACK_APP_TOKEN") < mode.detail.index("SLACK_SIGNING_SECRET")


def test_an_unreachable_database_is_named_without_its_password(fake_slack: FakeSlack) -> None:
    fake_slack.scopes = SCOPES
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"postgresql://focusbot:{PASSWORD}@127.0.0.1:{port}/focusbot"
    findings = check(settings(fake_slack, database_url=url))
    by_check = {finding.check: finding for finding in findings}
    database = by_check[DATABASE_CHECK]
    assert not database.ok
    assert (
        f"cannot reach PostgreSQL database “focusbot” on 127.0.0.1:{port} as user focusbot"
        in database.detail
    )
    assert "Check DATABASE_URL" in database.detail
    assert not by_check[SCHEMA_CHECK].ok and "not checked" in by_check[SCHEMA_CHECK].detail
    assert by_check[TOKEN_CHECK].ok
    assert PASSWORD not in render(findings)
    assert exit_code(findings) == 1


def test_a_missing_sqlite_file_is_not_created_by_the_check(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    path = tmp_path / "nowhere.db"
    findings = check(settings(fake_slack, database_url=f"sqlite:///{path}"))
    database = {finding.check: finding for finding in findings}[DATABASE_CHECK]
    assert not database.ok
    assert f"SQLite file {path} does not exist yet: run focusbot migrate" in database.detail
    assert not path.exists()


def test_a_database_behind_on_migrations_says_to_migrate(
    fake_slack: FakeSlack, empty_engine: Engine
) -> None:
    command.upgrade(alembic_config(empty_engine), "0001")
    schema = run(fake_slack, empty_engine)[SCHEMA_CHECK]
    assert not schema.ok
    assert f"at revision 0001, behind the newest, {head_revision(empty_engine)}" in schema.detail
    assert "run focusbot migrate" in schema.detail
    upgrade(empty_engine)
    assert run(fake_slack, empty_engine)[SCHEMA_CHECK].ok


def test_an_empty_database_says_to_migrate(fake_slack: FakeSlack, empty_engine: Engine) -> None:
    with empty_engine.connect():
        pass  # creates the SQLite file
    schema = run(fake_slack, empty_engine)[SCHEMA_CHECK]
    assert not schema.ok
    assert "no focusbot tables yet" in schema.detail and "focusbot migrate" in schema.detail


def test_a_database_migrated_by_a_newer_focusbot_is_told_apart(
    fake_slack: FakeSlack, migrated: Engine
) -> None:
    with migrated.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    schema = run(fake_slack, migrated)[SCHEMA_CHECK]
    assert not schema.ok
    assert "revision 9999, which this focusbot does not know" in schema.detail


def test_check_builds_its_own_engine_and_client(fake_slack: FakeSlack, tmp_path: Path) -> None:
    fake_slack.scopes = SCOPES
    url = f"sqlite:///{tmp_path / 'focusbot.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    findings = check(settings(fake_slack, database_url=url))
    assert exit_code(findings) == 0, render(findings)
    assert f"SQLite file {tmp_path / 'focusbot.db'} answers" in render(findings)
