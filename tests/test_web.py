"""The HTTP server: health, the events path, and refusing what Slack would never send."""

import json
from urllib.error import HTTPError
from urllib.request import Request, urlopen

from tests.conftest import SlackUser


def get(url: str) -> tuple[int, str]:
    try:
        with urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except HTTPError as error:
        return error.code, error.read().decode()


def test_healthz_checks_the_database(http_url: str) -> None:
    status, body = get(http_url + "/healthz")
    assert status == 200
    assert json.loads(body) == {"ok": True, "database": "ok"}


def test_unknown_paths_are_not_found(http_url: str) -> None:
    assert get(http_url + "/nothing-here")[0] == 404


def test_a_huge_body_is_refused_before_it_is_read(slack: SlackUser, http_url: str) -> None:
    request = Request(
        http_url + "/slack/events",
        data=b"x" * (1024 * 1024 + 1),
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        urlopen(request, timeout=5)
    except HTTPError as error:
        assert error.code == 413
    else:
        raise AssertionError("a huge body was accepted")


def test_slack_url_verification_is_answered(slack: SlackUser) -> None:
    request = slack.requests.sign(
        json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"}),
        "application/json",
    )
    answer = slack.post(request)
    assert answer.status == 200 and "abc123" in answer.body
