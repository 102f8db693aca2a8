"""What focusbot's Slack app manifest (app.yaml) asks of Slack."""

from functools import cache
from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parent / "app.yaml"


@cache
def bot_scopes(manifest: Path = MANIFEST) -> tuple[str, ...]:
    """Return the bot scopes the manifest asks for, in its order."""
    loaded = yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}
    scopes = ((loaded.get("oauth_config") or {}).get("scopes") or {}).get("bot") or []
    return tuple(str(scope) for scope in scopes)
