"""Background work: one job per key at a time, a failure stops nothing, idleness can be awaited."""

import threading

import pytest

from bot.runtime.background import Background


def test_a_key_runs_once_at_a_time_and_a_failure_stops_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    background = Background(workers=2)
    release = threading.Event()
    done: list[str] = []

    def fail() -> None:
        raise RuntimeError("the feed server hung up")

    assert background.submit("slow", lambda: (release.wait(30), done.append("slow")))
    assert not background.submit("slow", lambda: done.append("twice"))
    assert background.submit("failing", fail)
    assert background.submit("quick", lambda: done.append("quick"))
    assert background.busy("slow")
    release.set()
    assert background.wait_idle(timeout=30)
    assert sorted(done) == ["quick", "slow"]
    assert "background job failing failed" in caplog.text
    assert background.submit("slow", lambda: done.append("again"))
    assert background.wait_idle(timeout=30)
    assert done[-1] == "again"
