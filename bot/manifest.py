"""What focusbot's Slack app manifest (app.yaml) asks of Slack."""

from functools import cache
from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parent.parent / "app.yaml"


@cache
def bot_scopes() -> tuple[str, ...]:
    """Return the bot scopes the manifest asks for."""
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return tuple(manifest["oauth_config"]["scopes"]["bot"])
