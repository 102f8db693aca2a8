"""The console: focusbot against a fake Slack in the terminal, for trying it without a workspace."""
