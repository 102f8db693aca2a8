"""Maker time: meeting windows, meeting checks and free slots, calendar feeds and their watch."""
