"""A small in-memory cache whose entries expire: answers Slack gave a moment ago."""

import threading
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any

MAX_ENTRIES = 10_000


class ExpiringCache:
    """Remember values for a while; shared by the threads of one focusbot."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: dict[Hashable, tuple[datetime, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: datetime) -> Any | None:
        """Return the value kept under a key, or None when there is none or it expired."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, value = entry
            if now >= expires_at:
                del self._entries[key]
                return None
            return value

    def put(self, key: Hashable, value: Any, now: datetime, keep_for: timedelta) -> None:
        """Keep a value under a key for a while."""
        with self._lock:
            self._entries.pop(key, None)
            if len(self._entries) >= self.max_entries:
                self._forget_expired_or_oldest(now)
            self._entries[key] = (now + keep_for, value)

    def _forget_expired_or_oldest(self, now: datetime) -> None:
        expired = [key for key, (expires_at, _) in self._entries.items() if now >= expires_at]
        for key in expired or [next(iter(self._entries))]:
            del self._entries[key]
