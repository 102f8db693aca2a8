"""focusbot: a Slack app that runs the rituals of a machine-learning team."""
