"""`focusbot doctor`: check tokens, scopes, database and schema; say what is wrong, plainly."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import SQLAlchemyError

from bot.pain import EmbeddingUnavailable
from bot.runtime.logs import redact
from bot.runtime.manifest import MANIFEST, bot_scopes
from bot.runtime.services import pain_matcher_for
from bot.runtime.settings import Settings
from bot.runtime.socket_mode import app_token_problem, connection_report
from storage.base import utcnow
from storage.db import make_engine, session_scope
from storage.schema import alembic_config, current_revision, head_revision

SCOPES_HEADER = "x-oauth-scopes"
SLACK_TIMEOUT_SECONDS = 10
DATABASE_TIMEOUT_SECONDS = 5
Mode = Literal["socket", "http"]

TOKEN_CHECK, SCOPES_CHECK, MODE_CHECK = "Slack bot token", "Slack permissions", "Slack connection"
OAUTH_CHECK = "Slack installs"
SOCKET_CHECK = "Socket Mode connection"
DATABASE_CHECK, SCHEMA_CHECK = "Database", "Database schema"
PAIN_MATCHING_CHECK = "Pain point matching"

_TOKEN_ERRORS = {
    "invalid_auth": "Slack does not accept SLACK_BOT_TOKEN: it is wrong or incomplete.",
    "not_authed": "Slack received no token: SLACK_BOT_TOKEN is empty.",
    "token_revoked": "SLACK_BOT_TOKEN was revoked: someone removed or reinstalled the app.",
    "token_expired": "SLACK_BOT_TOKEN has expired (token rotation is on): get a fresh one.",
    "account_inactive": "The app's bot user is deactivated, or the app was uninstalled.",
    "no_permission": "The token lacks the permission to identify itself (auth.test).",
}
_FIX_TOKEN = (
    " Copy the Bot User OAuth Token (it starts with xoxb-) from your app's "
    "OAuth & Permissions page at https://api.slack.com/apps into SLACK_BOT_TOKEN."
)


@dataclass(frozen=True)
class Finding:
    """The outcome of one check, in words a non-expert understands."""

    check: str
    ok: bool
    detail: str


def diagnose(
    settings: Settings, engine: Engine, client: WebClient, *, mode: Mode | None = None
) -> list[Finding]:
    """Check Slack credentials, permissions, the database and its schema; never print a secret.

    `mode` is how focusbot will talk to Slack; by default it is what `focusbot start` picks:
    Socket Mode when an app token is set (and workspaces do not install through OAuth), else HTTP.
    """
    chosen = _mode(settings, mode)
    database = database_findings(engine)
    return [
        *_slack_findings(settings, client),
        _connection_finding(settings, mode),
        *database,
        *_socket_findings(chosen, engine, database),
        pain_matching_finding(settings),
    ]


def check(settings: Settings, *, mode: Mode | None = None) -> list[Finding]:
    """Run every check for these settings, building the database engine and Slack client."""
    client = slack_client(settings)
    engine = doctor_engine(settings.database_url)
    try:
        return diagnose(settings, engine, client, mode=mode)
    finally:
        engine.dispose()


def render(findings: list[Finding]) -> str:
    """Return the findings as lines a person reads top to bottom, with a verdict at the end."""
    lines = [
        f"{'✓' if finding.ok else '✗'} {finding.check}: {finding.detail}" for finding in findings
    ]
    problems = sum(not finding.ok for finding in findings)
    if problems == 0:
        lines.append("Everything focusbot needs is in place.")
    else:
        lines.append(
            f"{problems} check{'s' if problems > 1 else ''} did not pass: fix them from the top, "
            "then run focusbot doctor again."
        )
    return "\n".join(lines)


def exit_code(findings: list[Finding]) -> int:
    """Return 0 when every check passed, 1 otherwise (for scripts and CI)."""
    return 0 if all(finding.ok for finding in findings) else 1


def token_problem(code: str) -> str:
    """Say why Slack refused the bot token, from its error code, and how to get a good one."""
    return _TOKEN_ERRORS.get(code, f"Slack refused SLACK_BOT_TOKEN ({code}).") + _FIX_TOKEN


def slack_client(settings: Settings) -> WebClient:
    """Return a Web API client for the checks: the bot token, no retries, a short timeout."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[],
    )


def doctor_engine(database_url: str) -> Engine:
    """Return an engine that gives up quickly on a database that does not answer."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        url = url.update_query_dict({"connect_timeout": str(DATABASE_TIMEOUT_SECONDS)})
    return make_engine(url.render_as_string(hide_password=False))


def _mode(settings: Settings, mode: Mode | None) -> Mode:
    socket = settings.slack_app_token is not None and not settings.installs_in_many_workspaces
    return mode or ("socket" if socket else "http")


def _slack_findings(settings: Settings, client: WebClient) -> list[Finding]:
    oauth = _oauth_findings(settings)
    if settings.slack_bot_token is None and settings.installs_in_many_workspaces:
        detail = (
            "none needed: each workspace's token is saved when someone installs focusbot "
            "through /slack/install, with the scopes app.yaml asks for."
        )
        return [*oauth, Finding(TOKEN_CHECK, True, detail)]
    return [*oauth, *_token_findings(settings, client)]


def _oauth_findings(settings: Settings) -> list[Finding]:
    client_id, client_secret = settings.slack_client_id, settings.slack_client_secret
    if client_id is None and client_secret is None:
        return []
    if client_id is None or client_secret is None:
        present, absent = (
            ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET")
            if client_id
            else ("SLACK_CLIENT_SECRET", "SLACK_CLIENT_ID")
        )
        detail = (
            f"{present} is set but {absent} is not. To install focusbot in many workspaces set "
            "both (Basic Information → App Credentials); for one workspace set neither and use "
            "SLACK_BOT_TOKEN."
        )
        return [Finding(OAUTH_CHECK, False, detail)]
    return [
        Finding(
            OAUTH_CHECK,
            True,
            f"workspaces install focusbot through /slack/install (client id {client_id}); "
            "Slack must list https://<your host>/slack/oauth_redirect as a redirect URL.",
        )
    ]


def _token_findings(settings: Settings, client: WebClient) -> list[Finding]:
    if settings.slack_bot_token is None:
        return [
            Finding(TOKEN_CHECK, False, "SLACK_BOT_TOKEN is not set." + _FIX_TOKEN),
            _not_checked(SCOPES_CHECK, "the bot token must work"),
        ]
    try:
        response = client.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error", "unknown_error"))
        return [
            Finding(TOKEN_CHECK, False, token_problem(code)),
            _not_checked(SCOPES_CHECK, "the bot token must work"),
        ]
    except OSError as error:
        reason = redact(str(error), _secrets(settings))
        return [
            Finding(
                TOKEN_CHECK,
                False,
                f"Cannot reach Slack at {settings.slack_api_url} ({reason}). "
                "Check the network, a proxy, or SLACK_API_URL.",
            ),
            _not_checked(SCOPES_CHECK, "Slack must be reachable"),
        ]
    workspace = f"“{response.get('team', '?')}” ({response.get('team_id', '?')})"
    user = f"@{response.get('user', '?')} ({response.get('user_id', '?')})"
    token_finding = Finding(
        TOKEN_CHECK, True, f"works: focusbot is the bot user {user} in workspace {workspace}."
    )
    return [token_finding, scopes_finding(_header(dict(response.headers), SCOPES_HEADER))]


def scopes_finding(granted_header: str | None, manifest: Path = MANIFEST) -> Finding:
    """Compare the scopes Slack granted the token with those the app manifest asks for."""
    if not manifest.exists():
        return Finding(
            SCOPES_CHECK, True, f"{manifest} is missing, so there is nothing to compare."
        )
    wanted = bot_scopes(manifest)
    if granted_header is None:
        return Finding(
            SCOPES_CHECK, True, "Slack did not say which scopes the token has; not compared."
        )
    granted = {scope.strip() for scope in granted_header.split(",") if scope.strip()}
    missing = [scope for scope in wanted if scope not in granted]
    if not missing:
        return Finding(
            SCOPES_CHECK, True, f"the token has all {len(wanted)} scopes app.yaml asks for."
        )
    return Finding(
        SCOPES_CHECK,
        False,
        f"the token lacks {len(missing)} of the scopes app.yaml asks for: {', '.join(missing)}. "
        "Add them under OAuth & Permissions (or update the app from app.yaml), "
        "then reinstall the app to the workspace and use the new token.",
    )


def _connection_finding(settings: Settings, mode: Mode | None) -> Finding:
    """Check the chosen mode, or, when nothing says which, tell both ways apart."""
    undecided = (
        mode is None
        and settings.slack_app_token is None
        and settings.slack_signing_secret is None
        and not settings.installs_in_many_workspaces
    )
    if not undecided:
        return _mode_finding(settings, _mode(settings, mode))
    return Finding(
        MODE_CHECK,
        False,
        "no way to receive Slack's requests is set. Socket Mode needs no public address: create "
        "an app-level token with the connections:write scope under Basic Information → "
        "App-Level Tokens and set SLACK_APP_TOKEN (it starts with xapp-). Or, for HTTP mode, "
        "set SLACK_SIGNING_SECRET from the same page.",
    )


def _mode_finding(settings: Settings, mode: Mode) -> Finding:
    if mode == "socket":
        token = settings.slack_app_token
        if token is None:
            return Finding(
                MODE_CHECK,
                False,
                "Socket Mode needs SLACK_APP_TOKEN: create an app-level token with the "
                "connections:write scope under Basic Information (it starts with xapp-).",
            )
        if not token.get_secret_value().startswith("xapp-"):
            return Finding(
                MODE_CHECK,
                False,
                "SLACK_APP_TOKEN does not start with xapp-: it must be an app-level token "
                "(Basic Information → App-Level Tokens), not a bot or user token.",
            )
        problem = app_token_problem(settings, SLACK_TIMEOUT_SECONDS)
        if problem is not None:
            return Finding(MODE_CHECK, False, f"Socket Mode: {problem}")
        return Finding(
            MODE_CHECK, True, "Socket Mode: Slack opens connections with the app-level token."
        )
    if settings.slack_signing_secret is None:
        return Finding(
            MODE_CHECK,
            False,
            "HTTP mode needs SLACK_SIGNING_SECRET to check that requests come from Slack: copy "
            "the Signing Secret from your app's Basic Information page.",
        )
    return Finding(MODE_CHECK, True, "HTTP mode: the signing secret is set.")


def _socket_findings(mode: Mode, engine: Engine, database: list[Finding]) -> list[Finding]:
    """Say whether the focusbot running in Socket Mode is connected, as it last reported."""
    if mode != "socket":
        return []
    if not all(finding.ok for finding in database):
        return [_not_checked(SOCKET_CHECK, "the database must be reachable and current")]
    with session_scope(engine) as session:
        ok, detail = connection_report(session, utcnow())
    return [Finding(SOCKET_CHECK, ok, detail)]


def database_findings(engine: Engine) -> list[Finding]:
    """Check that the database answers and that its schema is the newest focusbot knows."""
    where = describe_database(engine.url)
    if engine.url.get_backend_name() == "sqlite" and not _sqlite_file_exists(engine.url):
        return [
            Finding(
                DATABASE_CHECK,
                False,
                f"{where} does not exist yet: run focusbot migrate to create it.",
            ),
            _not_checked(SCHEMA_CHECK, "the database must exist"),
        ]
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = _database_reason(error, engine)
        return [
            Finding(
                DATABASE_CHECK,
                False,
                f"cannot reach {where}: {reason}. Check DATABASE_URL, that the database server "
                "runs and that this machine may connect to it.",
            ),
            _not_checked(SCHEMA_CHECK, "the database must be reachable"),
        ]
    return [Finding(DATABASE_CHECK, True, f"{where} answers."), _schema_finding(engine)]


def describe_database(url: URL) -> str:
    """Name a database by its kind, file or host, and user; never its password."""
    if url.get_backend_name() == "sqlite":
        path = url.database or ""
        return (
            "the in-memory SQLite database" if path in ("", ":memory:") else f"SQLite file {path}"
        )
    host = url.host or "localhost"
    port = f":{url.port}" if url.port else ""
    user = f" as user {url.username}" if url.username else ""
    return f"PostgreSQL database “{url.database or '?'}” on {host}{port}{user}"


def _schema_finding(engine: Engine) -> Finding:
    try:
        current, head = current_revision(engine), head_revision(engine)
    except SQLAlchemyError as error:
        reason = _database_reason(error, engine)
        return Finding(SCHEMA_CHECK, False, f"cannot read the schema revision: {reason}.")
    if current == head:
        return Finding(SCHEMA_CHECK, True, f"up to date (revision {head}).")
    if current is None:
        return Finding(
            SCHEMA_CHECK,
            False,
            f"the database has no focusbot tables yet (focusbot needs revision {head}): "
            "run focusbot migrate.",
        )
    if not _is_known_revision(engine, current):
        return Finding(
            SCHEMA_CHECK,
            False,
            f"the database is at revision {current}, which this focusbot does not know "
            f"(its newest is {head}): a newer focusbot migrated it. Run that newer version.",
        )
    return Finding(
        SCHEMA_CHECK,
        False,
        f"the database is at revision {current}, behind the newest, {head}: "
        "run focusbot migrate (back up the database first).",
    )


def _is_known_revision(engine: Engine, revision: str) -> bool:
    try:
        return (
            ScriptDirectory.from_config(alembic_config(engine)).get_revision(revision) is not None
        )
    except CommandError:
        return False


def _not_checked(check: str, needs: str) -> Finding:
    return Finding(check, False, f"not checked, because first {needs}.")


def _sqlite_file_exists(url: URL) -> bool:
    path = url.database or ""
    return path in ("", ":memory:") or Path(path).exists()


def _header(headers: dict[str, Any], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return ", ".join(value) if isinstance(value, list) else str(value)
    return None


def _first_line(text: str) -> str:
    return (text.strip().splitlines() or ["no reason given"])[0].rstrip(".")


def _database_reason(error: SQLAlchemyError, engine: Engine) -> str:
    """Return the driver's own first line about a failure, without the password."""
    password = [engine.url.password] if engine.url.password else []
    return _first_line(redact(str(getattr(error, "orig", None) or error), password))


def _secrets(settings: Settings) -> list[str]:
    values = (
        settings.slack_bot_token,
        settings.slack_app_token,
        settings.slack_signing_secret,
        settings.slack_client_secret,
    )
    return [value.get_secret_value() for value in values if value is not None]


def pain_matching_finding(settings: Settings) -> Finding:
    """Say which pain point matcher is active and, with a model, whether it answers."""
    matcher = pain_matcher_for(settings)
    if matcher.embedder is None:
        return Finding(
            PAIN_MATCHING_CHECK, True, f"Pain points are matched by {matcher.describe()}."
        )
    try:
        matcher.embedder.embed(["focusbot doctor checks the model"])
    except EmbeddingUnavailable as failure:
        return Finding(
            PAIN_MATCHING_CHECK,
            False,
            f"The model does not answer ({failure}); /pain matches by words until it does.",
        )
    return Finding(PAIN_MATCHING_CHECK, True, f"Pain points are matched by {matcher.describe()}.")
