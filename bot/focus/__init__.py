"""A few things in focus: each team's short list, its history and weekly check-in."""
