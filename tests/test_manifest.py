"""app.yaml: a valid Slack manifest that declares exactly the commands the code answers."""

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

import handlers

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "app.yaml").read_text())


def test_the_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    if not SCHEMA.exists():
        pytest.fail(f"Slack's manifest schema is missing at {SCHEMA}")
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))


def test_every_registered_command_is_in_the_manifest_and_vice_versa(
    manifest: dict[str, Any],
) -> None:
    declared = {command["command"] for command in manifest["features"]["slash_commands"]}
    registered = {feature.COMMAND for feature in handlers.FEATURES}
    assert declared == registered


def test_commands_ask_slack_to_escape_mentions(manifest: dict[str, Any]) -> None:
    for command in manifest["features"]["slash_commands"]:
        assert command["should_escape"] is True, command["command"]


def test_the_app_has_a_home_tab_interactivity_and_socket_mode(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
