"""How well /pain matches, black-box over HTTP: `make eval-pain` (`python -m bench.pain_quality`).

Each labelled set is logged, one complaint after another, through signed `/pain log` commands to a
running focusbot, each run in a workspace of its own. The suggestions are read from the answers;
the themes from the database. Printed per set: precision of the suggestions shown, recall (the
share of complaints with an earlier one of the same problem that were shown one) and theme purity,
for words alone and, when PAIN_MODEL_PATH names a model, for the model alone and the hybrid.
"""

import argparse
import csv
import json
import logging
import random
import re
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

from sqlmodel import select
from waitress.server import create_server

from bot.app.factory import Focusbot, create_focusbot
from bot.app.web import wsgi_app
from bot.console.fakeslack import SlackRequests, running_fake_slack
from bot.pain.matching import Blend
from bot.pain.quality import Outcome, Quality, quality
from bot.runtime.settings import Settings
from storage.base import Workspace
from storage.db import session_scope
from storage.pain import PainPoint, in_workspace
from storage.schema import upgrade

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
SECRET = "eval-signing-secret"
SHOWN = re.compile(r"^\*#(\d+)\*")
ORDERS = (0, 1, 2)


@dataclass(frozen=True)
class LabelledSet:
    """Complaints in true groups; each sample is logged in every order."""

    name: str
    samples: list[list[tuple[str, str]]]
    orders: tuple[int, ...]


def labelled_sets(part: str) -> list[LabelledSet]:
    """Return the held-back (or tuning) sets: ML-team complaints, issue titles, support queries."""
    with (DATA / "pain_points.csv").open(newline="") as file:
        team = [(row["group"], row["text"]) for row in csv.DictReader(file) if row["part"] == part]
    with (DATA / f"banking77_{'heldout' if part == 'held' else 'tuning'}.csv").open() as file:
        rows = list(csv.DictReader(file))
    queries = [
        [(row["group"], row["text"]) for row in rows if row["sample"] == sample]
        for sample in sorted({row["sample"] for row in rows})
    ]
    found = [
        LabelledSet("ML-team complaints", [team], ORDERS),
        LabelledSet("support queries (banking77)", queries, (0,)),
    ]
    if part == "held":
        with (DATA / "issue_titles.csv").open(newline="") as file:
            titles = [(row["group"], row["text"]) for row in csv.DictReader(file)]
        found.insert(1, LabelledSet("ML-tooling issue titles", [titles], ORDERS))
    return found


class Client:
    """Sends signed /pain commands to a focusbot over HTTP."""

    def __init__(self, base_url: str, response_url: str) -> None:
        self.base_url = base_url
        self.response_url = response_url
        self.latencies: list[float] = []

    def log(self, team: str, user: str, text: str) -> list[int]:
        """Log a complaint; return the numbers of the pain points shown as the same complaint."""
        signed = SlackRequests(SECRET, team_id=team).command(
            "/pain",
            f"log {text}",
            user_id=user,
            channel_id="C0EVAL",
            response_url=self.response_url,
        )
        request = Request(
            self.base_url + "/slack/events",
            data=signed.body.encode(),
            headers=signed.headers,
            method="POST",
        )
        started = time.perf_counter()
        with urlopen(request, timeout=30) as response:
            answer = json.loads(response.read() or b"{}")
        self.latencies.append(time.perf_counter() - started)
        return [
            int(match.group(1))
            for block in answer.get("blocks", [])
            if (match := SHOWN.match(str(block.get("text", {}).get("text", ""))))
        ]


def run(client: Client, focusbot: Focusbot, team: str, rows: list[tuple[str, str]]) -> Outcome:
    """Log the rows in a fresh workspace; return what each was shown and the theme it joined."""
    shown = [
        [number - 1 for number in client.log(team, f"U{position % 7}", text)]
        for position, (_group, text) in enumerate(rows)
    ]
    with session_scope(focusbot.services.engine) as session:
        points = session.exec(select(PainPoint).where(*in_workspace(Workspace(team)))).all()
        theme_of = {point.number - 1: point.theme_id for point in points}
    return Outcome(shown, [theme_of[position] for position in range(len(rows))])


@contextmanager
def serving(settings: Settings, blend: Blend | None) -> Iterator[tuple[Client, Focusbot]]:
    """Run a focusbot over HTTP with these settings, matching with the given blend."""
    with running_fake_slack() as fake:
        settings = settings.model_copy(update={"slack_api_url": fake.base_url})
        focusbot = create_focusbot(settings)
        upgrade(focusbot.services.engine)
        if blend is not None:
            focusbot.services.pain_matcher.blend = blend
        server: Any = create_server(
            wsgi_app(focusbot), host="127.0.0.1", port=0, threads=4, asyncore_use_poll=True
        )
        threading.Thread(target=server.run, daemon=True).start()
        try:
            yield Client(f"http://127.0.0.1:{server.effective_port}", fake.response_url()), focusbot
        finally:
            try:
                server.trigger.pull_trigger(server.close)
            except OSError:
                server.close()  # the loop has already let go of its trigger


def evaluate(settings: Settings, blend: Blend | None, sets: list[LabelledSet]) -> dict[str, Any]:
    """Return the mean quality per set, and the latencies of /pain, for one way of matching."""
    results: dict[str, Any] = {}
    with serving(settings, blend) as (client, focusbot):
        for number, labelled in enumerate(sets):
            scores: list[Quality] = []
            for sample_number, sample in enumerate(labelled.samples):
                for order in labelled.orders:
                    rows = list(sample)
                    random.Random(order).shuffle(rows)
                    team = f"T{number}S{sample_number}O{order}"
                    outcome = run(client, focusbot, team, rows)
                    scores.append(quality([group for group, _ in rows], outcome))
            results[labelled.name] = scores
        results["latencies"] = client.latencies
    return results


def main() -> None:
    """Measure each way of matching on each set and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=("held", "tune"), default="held")
    arguments = parser.parse_args()
    logging.getLogger("waitress").setLevel(logging.CRITICAL)  # a closing server's last word
    environment = Settings()
    sets = labelled_sets(arguments.part)
    with tempfile.TemporaryDirectory() as folder:
        base = Settings(
            _env_file=None,  # type: ignore[call-arg]
            slack_bot_token="xoxb-eval",
            slack_signing_secret=SECRET,
            database_url=f"sqlite:///{folder}/lexical.db",
            log_level="WARNING",
            pain_model_path=None,
            pain_embeddings_url=None,
        )
        ways: list[tuple[str, Settings, Blend | None]] = [("lexical", base, None)]
        if environment.pain_model_path is not None:
            for name, blend in (("model", Blend.MEANING), ("hybrid", Blend.BOTH)):
                with_model = base.model_copy(
                    update={
                        "pain_model_path": environment.pain_model_path,
                        "database_url": f"sqlite:///{folder}/{name}.db",
                    }
                )
                ways.append((name, with_model, blend))
        print(f"{'matcher':8} {'set':30} {'precision':>9} {'recall':>7} {'purity':>7} {'shown':>6}")
        for name, settings, blend in ways:
            results = evaluate(settings, blend, sets)
            latencies = sorted(results.pop("latencies"))
            for set_name, scores in results.items():
                print(
                    f"{name:8} {set_name:30} "
                    f"{statistics.mean(s.precision for s in scores):9.3f} "
                    f"{statistics.mean(s.recall for s in scores):7.3f} "
                    f"{statistics.mean(s.purity for s in scores):7.3f} "
                    f"{statistics.mean(s.shown_per_text for s in scores):6.2f}"
                )
            p50 = latencies[len(latencies) // 2] * 1000
            print(f"{name:8} /pain over HTTP: p50 {p50:.0f} ms over {len(latencies)} requests")


if __name__ == "__main__":
    main()
