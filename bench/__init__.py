"""Benchmarks of focusbot: its cost against a bare Bolt app, and how it grows with the data."""
