"""app.yaml: a valid Slack manifest that asks for exactly what the code uses, no more."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from slack_sdk import WebClient

import handlers
from bot.runtime.manifest import MANIFEST

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).resolve().parent / "data" / "slack" / "manifest.schema.1.0.0.json"
SOURCES = [ROOT / "bot", ROOT / "handlers", ROOT / "storage"]
HISTORY = ("channels:history", "groups:history", "im:history", "mpim:history")
READ = ("channels:read", "groups:read", "im:read", "mpim:read")

# The bot scopes each Web API method focusbot calls needs (Slack's method reference). A
# conversation may be a channel, a private channel, a DM or a group DM, hence every history scope.
METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "apps_connections_open": (),  # with the app-level token's connections:write, no bot scope
    "auth_test": (),
    "chat_getPermalink": (),
    "chat_postEphemeral": ("chat:write",),
    "chat_postMessage": ("chat:write",),
    "conversations_history": HISTORY,
    "conversations_info": READ,
    "conversations_list": READ[:2],
    "conversations_members": READ,
    "conversations_open": ("im:write",),
    "conversations_replies": HISTORY,
    "files_upload_v2": ("files:write",),
    "users_info": ("users:read",),
    "views_open": (),
    "views_publish": (),
}
# The bot scopes Slack requires before it sends each event.
EVENT_SCOPES: dict[str, tuple[str, ...]] = {
    "app_home_opened": (),
    "app_uninstalled": (),
    "reaction_added": ("reactions:read",),
    "tokens_revoked": (),
}
# Slash commands and message shortcuts.
FEATURE_SCOPES = ("commands",)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def source_text() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8") for root in SOURCES for path in sorted(root.rglob("*.py"))
    )


def web_api_methods_called() -> set[str]:
    """Return the WebClient methods called anywhere in focusbot's code."""
    methods = {name for name in dir(WebClient) if re.fullmatch(r"[a-z]+_[A-Za-z0-9_]+", name)}
    called = set(re.findall(r"\.([a-z]+_[A-Za-z0-9_]+)\(", source_text()))
    return called & methods


def events_listened_to() -> set[str]:
    """Return the event types focusbot registers listeners for."""
    return set(re.findall(r"\.event\(\s*[\"']([a-z_]+)[\"']", source_text()))


def test_the_manifest_validates_against_slacks_schema(manifest: dict[str, Any]) -> None:
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text(encoding="utf-8")))


def test_every_event_with_a_listener_is_subscribed_and_vice_versa(
    manifest: dict[str, Any],
) -> None:
    listened = events_listened_to()
    assert {"app_home_opened", "reaction_added", "app_uninstalled", "tokens_revoked"} <= listened
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == listened


def test_every_web_api_method_called_has_its_scopes_declared(manifest: dict[str, Any]) -> None:
    called = web_api_methods_called()
    assert {"chat_postMessage", "users_info", "conversations_history"} <= called
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"add the scopes of {sorted(unknown)} to METHOD_SCOPES"
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    for method in called:
        missing = set(METHOD_SCOPES[method]) - declared
        assert not missing, f"{method} needs {sorted(missing)}"
    for event in events_listened_to():
        assert set(EVENT_SCOPES[event]) <= declared, event


def test_no_scope_is_requested_that_nothing_uses(manifest: dict[str, Any]) -> None:
    needed = {
        *FEATURE_SCOPES,
        *(scope for method in web_api_methods_called() for scope in METHOD_SCOPES[method]),
        *(scope for event in events_listened_to() for scope in EVENT_SCOPES[event]),
    }
    declared = manifest["oauth_config"]["scopes"]["bot"]
    assert len(declared) == len(set(declared))
    assert set(declared) == needed
    assert "user" not in manifest["oauth_config"]["scopes"], "focusbot acts as itself only"


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


def test_the_manifest_at_the_top_of_the_repository_is_the_one_focusbot_ships() -> None:
    assert (ROOT / "app.yaml").read_text(encoding="utf-8") == MANIFEST.read_text(encoding="utf-8")
