"""Rules every feature shares: callers, people, leads, mentions, weekly times, outbox, digest."""
