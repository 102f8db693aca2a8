"""Matching pain points by meaning: a tiny ONNX model written here, and an embeddings endpoint."""

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from sqlalchemy.engine import Engine
from sqlmodel import select
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

from bot import pain as feature
from bot.app.factory import Focusbot, create_focusbot
from bot.console.fakeslack import FakeSlack
from bot.pain import HttpEmbedder, Matcher, OnnxEmbedder, reindex
from bot.pain.matching import Blend
from bot.pain.quality import simulate
from bot.runtime.doctor import pain_matching_finding
from storage.base import Workspace
from storage.db import make_engine, session_scope
from storage.pain_matching import PainVector
from storage.schema import upgrade
from tests.conftest import BOB, SlackUser, settings_for

# Words of one meaning share one embedding row, so the model knows them for the same thing.
MEANINGS = {
    "gpu": 1,
    "compute": 1,
    "queue": 2,
    "wait": 2,
    "stuck": 2,
    "wiki": 3,
    "docs": 3,
    "stale": 4,
    "outdated": 4,
}
DIMENSIONS = 8
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


def write_tiny_model(folder: Path) -> Path:
    """Write a sentence-embedding model in the layout focusbot reads: an embedding lookup."""
    folder.mkdir(parents=True, exist_ok=True)
    vocabulary = {"[PAD]": 0, "[UNK]": 1, **{word: 2 + n for n, word in enumerate(MEANINGS)}}
    tokenizer = Tokenizer(models.WordLevel(vocabulary, unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(folder / "tokenizer.json"))
    table = np.zeros((len(vocabulary), DIMENSIONS), dtype=np.float32)
    table[1, 0] = 0.05  # unknown words: a faint shared direction
    for word, meaning in MEANINGS.items():
        table[vocabulary[word], meaning] = 1.0
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"])],
        "tiny",
        [
            helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
            for name in ("input_ids", "attention_mask", "token_type_ids")
        ],
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", DIMENSIONS]
            )
        ],
        [helper.make_tensor("table", TensorProto.FLOAT, table.shape, table.flatten().tolist())],
    )
    onnx.save(
        helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), folder / "model.onnx"
    )
    return folder


@pytest.fixture
def model_folder(tmp_path: Path) -> Path:
    """Return a folder holding the tiny model."""
    return write_tiny_model(tmp_path / "tiny-model")


@pytest.fixture
def focusbot(
    fake_slack: FakeSlack, engine: Engine, database_url: str, model_folder: Path
) -> Focusbot:
    """Return a focusbot that matches pain points by the tiny model too."""
    settings = settings_for(fake_slack, database_url).model_copy(
        update={"pain_model_path": model_folder}
    )
    return create_focusbot(settings, engine=engine)


def pain(slack: SlackUser, text: str, user: str = BOB) -> str:
    """Type `/pain <text>` and return the text of the answer."""
    return slack.command(text, user=user, command="/pain").text


def test_the_model_embeds_words_of_one_meaning_alike_and_ignores_padding(
    model_folder: Path,
) -> None:
    embedder = OnnxEmbedder(model_folder)
    short, padded, other = embedder.embed(["gpu queue", "compute wait", "stale wiki docs outdated"])
    assert np.allclose(np.linalg.norm([short, padded, other], axis=1), 1.0)
    assert float(short @ padded) > 0.9
    assert float(short @ other) < 0.1
    assert np.allclose(embedder.embed(["gpu queue"])[0], short, atol=1e-6)


def test_with_a_model_a_complaint_in_other_words_is_suggested_and_its_vector_kept(
    slack: SlackUser, focusbot: Focusbot
) -> None:
    pain(slack, "gpu queue again")
    pain(slack, "wiki docs are stale")
    answer = pain(slack, "stuck in wait for compute")
    assert "Looks like the same complaint" in answer
    assert "#1* “gpu queue again”" in answer
    assert "wiki" not in answer.split("Looks like")[1]
    with session_scope(focusbot.services.engine) as session:
        kept = session.exec(select(PainVector)).all()
    assert len(kept) == 3
    assert {row.model for row in kept} == {focusbot.services.pain_matcher.model}


def test_words_alone_miss_the_same_complaint(model_folder: Path) -> None:
    texts = ["gpu queue again", "wiki docs are stale", "stuck in wait for compute"]
    assert simulate(texts).shown[2] == []
    vectors = OnnxEmbedder(model_folder).embed(texts)
    assert simulate(texts, Blend.BOTH, vectors).shown[2] == [0]


def test_reindex_embeds_the_pain_points_logged_before_the_model_was_on(
    engine: Engine, model_folder: Path
) -> None:
    with session_scope(engine) as session:
        for text in ("gpu queue again", "wiki docs are stale", "wiki outdated"):
            feature.log_pain(session, Workspace("T0RE"), "U1", "C1", text, NOW)
    matcher = Matcher(OnnxEmbedder(model_folder))
    seen: list[tuple[int, int]] = []
    assert reindex(engine, matcher, lambda done, total: seen.append((done, total))) == 3
    assert seen == [(3, 3)]
    assert reindex(engine, matcher) == 0
    with session_scope(engine) as session:
        found = feature.log_pain(
            session,
            Workspace("T0RE"),
            "U2",
            "C1",
            "stuck in wait for compute",
            NOW,
            matcher=matcher,
        )
    assert [similar.point.number for similar in found.similar] == [1]


class Endpoint:
    """An OpenAI-compatible embeddings endpoint on loopback, answering from the tiny model."""

    def __init__(self, model_folder: Path) -> None:
        self.model = OnnxEmbedder(model_folder)
        self.requests: list[dict[str, Any]] = []
        self.delay = 0.0
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append({"body": body, "auth": self.headers.get("Authorization")})
                time.sleep(endpoint.delay)
                vectors = endpoint.model.embed(body["input"])
                answer = {
                    "data": [
                        {"index": n, "embedding": vector.tolist()}
                        for n, vector in enumerate(vectors)
                    ][::-1]  # any order: the index says which is which
                }
                payload = json.dumps(answer).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except BrokenPipeError:
                    pass  # the client gave up waiting, as it should

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"


@pytest.fixture
def endpoint(model_folder: Path) -> Iterator[Endpoint]:
    """Serve embeddings on loopback."""
    served = Endpoint(model_folder)
    thread = threading.Thread(target=served.server.serve_forever, daemon=True)
    thread.start()
    yield served
    served.server.shutdown()


def test_the_endpoint_is_asked_in_batches_with_the_key_and_its_order_is_kept(
    endpoint: Endpoint,
) -> None:
    embedder = HttpEmbedder(endpoint.url, "tiny", api_key="sk-test", batch_size=2)
    vectors = embedder.embed(["gpu queue", "stale wiki", "compute wait"])
    assert [len(request["body"]["input"]) for request in endpoint.requests] == [2, 1]
    assert {request["auth"] for request in endpoint.requests} == {"Bearer sk-test"}
    assert {request["body"]["model"] for request in endpoint.requests} == {"tiny"}
    assert float(vectors[0] @ vectors[2]) > 0.9 and float(vectors[0] @ vectors[1]) < 0.1


def test_an_endpoint_that_is_down_or_slow_leaves_words_to_match_and_pain_never_fails(
    endpoint: Endpoint, engine: Engine
) -> None:
    slow = Matcher(HttpEmbedder(endpoint.url, "tiny", timeout=0.2))
    endpoint.delay = 1.0
    with session_scope(engine) as session:
        feature.log_pain(session, Workspace("T0DOWN"), "U1", "C1", "GPU queue takes forever", NOW)
        found = feature.log_pain(
            session, Workspace("T0DOWN"), "U2", "C1", "the GPU queue again", NOW, matcher=slow
        )
        again = feature.log_pain(
            session, Workspace("T0DOWN"), "U3", "C1", "GPU queue", NOW, matcher=slow
        )
    assert [similar.point.number for similar in found.similar] == [1]
    assert [similar.point.number for similar in again.similar] in ([1], [2])
    assert len(endpoint.requests) == 1  # after a failure the endpoint is left alone a while
    down = Matcher(HttpEmbedder("http://127.0.0.1:9/v1", "tiny", timeout=0.2))
    assert down.embed(["anything"]) is None


def test_doctor_says_which_matcher_is_active_and_whether_the_model_answers(
    fake_slack: FakeSlack, database_url: str, model_folder: Path
) -> None:
    settings = settings_for(fake_slack, database_url)
    assert "by words" in pain_matching_finding(settings).detail
    with_model = pain_matching_finding(
        settings.model_copy(update={"pain_model_path": model_folder})
    )
    assert with_model.ok and str(model_folder) in with_model.detail
    down = pain_matching_finding(
        settings.model_copy(update={"pain_embeddings_url": "http://127.0.0.1:9/v1"})
    )
    assert not down.ok and "matches by words until it does" in down.detail


@pytest.mark.slow
def test_focusbot_pain_reindex_embeds_with_a_progress_bar_and_says_what_it_needs(
    tmp_path: Path, model_folder: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'reindex.db'}"
    engine = make_engine(database)
    upgrade(engine)
    with session_scope(engine) as session:
        for text in ("gpu queue again", "wiki docs are stale"):
            feature.log_pain(session, Workspace("T0CLI"), "U1", "C1", text, NOW)
    engine.dispose()
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAIN_", "DATABASE_"))
    }

    def reindex_command(**variables: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot.cli", "pain", "reindex"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env={**environment, "DATABASE_URL": database, **variables},
            stdin=subprocess.DEVNULL,
            timeout=120,
        )

    done = reindex_command(PAIN_MODEL_PATH=str(model_folder))
    assert done.returncode == 0, done.stderr
    assert "Embedded 2 pain points" in done.stderr
    missing = reindex_command()
    assert missing.returncode == 1
    assert "PAIN_MODEL_PATH or PAIN_EMBEDDINGS_URL" in missing.stderr
