"""Many workspaces: the OAuth install, each workspace's own token, and clean-up on uninstall."""

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from freezegun import freeze_time
from sqlalchemy.engine import Engine
from sqlmodel import select
from waitress.server import create_server

from bot.app.factory import Focusbot, create_focusbot
from bot.app.web import wsgi_app
from bot.console.fakeslack import FakeSlack
from bot.runtime.settings import Settings
from storage.schedule import ScheduledPost
from tests.conftest import SIGNING_SECRET, SlackUser

NEW_TEAM = "T0NEW"


@pytest.fixture
def installable(fake_slack: FakeSlack, engine: Engine, database_url: str) -> Focusbot:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_client_id="111.222",
        slack_client_secret="client-secret",
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake_slack.base_url,
        database_url=database_url,
    )
    return create_focusbot(settings, engine=engine)


@pytest.fixture
def base_url(installable: Focusbot) -> Iterator[str]:
    server = create_server(wsgi_app(installable), host="127.0.0.1", port=0, asyncore_use_poll=True)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"  # type: ignore[union-attr]
    server.trigger.pull_trigger(server.close)  # type: ignore[union-attr]
    thread.join(timeout=5)


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    try:
        with urlopen(Request(url, headers=headers or {}), timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def install(base_url: str, team: str) -> str:
    status, page, headers = get(base_url + "/slack/install")
    assert status == 200
    link = re.search(r'href="(https://slack\.com/oauth/v2/authorize\?[^"]+)"', page)
    assert link is not None and "client_id=111.222" in link.group(1)
    state = re.search(r"state=([^&\"]+)", link.group(1)).group(1)  # type: ignore[union-attr]
    cookie = headers["Set-Cookie"].split(";")[0]
    status, page, _ = get(
        f"{base_url}/slack/oauth_redirect?code=code-for-{team}&state={state}",
        headers={"Cookie": cookie},
    )
    return page if status == 200 else f"HTTP {status}: {page}"


def test_a_workspace_installs_focusbot_and_uses_it_with_its_own_token(
    base_url: str, fake_slack: FakeSlack
) -> None:
    page = install(base_url, NEW_TEAM)
    assert "Thank you" in page or "installed" in page.lower(), page
    slack = SlackUser(base_url, fake_slack, team_id=NEW_TEAM)
    answer = slack.command("add Ship the eval harness")
    assert answer.status == 200 and "Added" in answer.text
    tokens = {call["token"] for call in fake_slack.calls_to("users.info")}
    assert tokens == {f"xoxb-{NEW_TEAM}"}


def test_a_workspace_that_never_installed_gets_nothing(
    base_url: str, fake_slack: FakeSlack
) -> None:
    install(base_url, NEW_TEAM)
    stranger = SlackUser(base_url, fake_slack, team_id="T0STRANGER")
    answer = stranger.command("add sneaky")
    assert "Added" not in answer.text


def test_scheduled_posts_go_out_with_each_workspaces_token(
    base_url: str, fake_slack: FakeSlack, installable: Focusbot
) -> None:
    install(base_url, NEW_TEAM)
    with freeze_time(datetime(2026, 11, 18, 12, 0, tzinfo=UTC), tick=True):
        SlackUser(base_url, fake_slack, team_id=NEW_TEAM).command("add alpha")
    with freeze_time(datetime(2026, 11, 23, 9, 0, tzinfo=UTC)):
        assert installable.scheduler.tick().sent == 1
    [post] = fake_slack.calls_to("chat.postMessage")
    assert post["token"] == f"xoxb-{NEW_TEAM}"


def test_uninstalling_forgets_the_token_and_cancels_pending_posts(
    base_url: str, fake_slack: FakeSlack, installable: Focusbot, engine: Engine
) -> None:
    install(base_url, NEW_TEAM)
    slack = SlackUser(base_url, fake_slack, team_id=NEW_TEAM)
    slack.command("add alpha")
    assert (
        slack.post(slack.requests.event({"type": "app_uninstalled"}, event_id="Ev0BYE")).status
        == 200
    )
    store = installable.app.installation_store
    assert store is not None

    def cleaned_up() -> bool:  # the listener runs after Slack's event is acknowledged
        with installable.services.session() as session:
            states = {post.state for post in session.exec(select(ScheduledPost))}
        return (
            states == {"cancelled"} and store.find_bot(enterprise_id=None, team_id=NEW_TEAM) is None
        )

    for _ in range(100):
        if cleaned_up():
            break
        threading.Event().wait(0.1)
    assert cleaned_up()
    with freeze_time(datetime.now(UTC) + timedelta(weeks=2)):
        installable.scheduler.tick()
    assert fake_slack.calls_to("chat.postMessage") == []
