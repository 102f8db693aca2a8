"""Sentence embeddings for pain points: an ONNX model on disk or an OpenAI-compatible endpoint.

Both are optional. The matcher falls back to words alone whenever a model cannot answer, so
logging a pain point never fails because of it.
"""

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.error import URLError
from urllib.request import Request, urlopen

import numpy as np

from bot.pain.matching import Blend

logger = logging.getLogger("focusbot.pain")

# Complaints are a sentence or two (the longest labelled one is 79 word pieces); a longer text is
# cut here, which keeps the cost of one /pain bounded.
MAX_TOKENS = 128
# After a failure the model is left alone this long, so /pain stays fast while it is down.
PAUSE_AFTER_FAILURE_SECONDS = 60.0


class EmbeddingUnavailable(Exception):
    """The model could not embed the texts (missing, down, too slow, or answered nonsense)."""


class Embedder(Protocol):
    """Turns texts into unit-length vectors; `name` tells vectors of different models apart."""

    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit-length float32 row per text; raise EmbeddingUnavailable on failure."""
        ...


def unit_rows(matrix: np.ndarray) -> np.ndarray:
    """Scale each row to length 1 (a zero row stays zero)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


class OnnxEmbedder:
    """A sentence-embedding model in a folder: model.onnx and tokenizer.json, mean pooling."""

    def __init__(self, folder: Path, batch_size: int = 32) -> None:
        self.folder = folder
        self.batch_size = batch_size
        size = (folder / "model.onnx").stat().st_size if (folder / "model.onnx").exists() else 0
        self.name = f"onnx:{folder.name}:{size}"
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model and tokenizer now; raise EmbeddingUnavailable when they cannot be."""
        with self._lock:
            if self._session is not None:
                return
            try:
                import onnxruntime
                from tokenizers import Tokenizer
            except ImportError as missing:
                raise EmbeddingUnavailable(
                    "PAIN_MODEL_PATH needs the semantic extra: pip install 'focusbot[semantic]'"
                ) from missing
            try:
                tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
                options = onnxruntime.SessionOptions()
                # One complaint at a time: a second thread costs more in handing over than it
                # saves, and on a busy machine it waits for a core.
                options.intra_op_num_threads = 1
                options.inter_op_num_threads = 1
                options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
                options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
                session = onnxruntime.InferenceSession(
                    str(self.folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
                )
            except Exception as broken:  # onnxruntime and tokenizers raise their own kinds
                raise EmbeddingUnavailable(
                    f"cannot load the model in {self.folder}: {broken}"
                ) from broken
            tokenizer.enable_truncation(MAX_TOKENS)
            tokenizer.enable_padding()
            self._inputs = frozenset(node.name for node in session.get_inputs())
            self._tokenizer, self._session = tokenizer, session

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return the mean-pooled, unit-length embedding of each text."""
        self.load()
        rows = [
            self._embed_batch(texts[start : start + self.batch_size])
            for start in range(0, len(texts), self.batch_size)
        ]
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([encoding.ids for encoding in encodings], dtype=np.int64)
        mask = np.array([encoding.attention_mask for encoding in encodings], dtype=np.int64)
        types = np.array([encoding.type_ids for encoding in encodings], dtype=np.int64)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        try:
            (hidden,) = self._session.run(
                ["last_hidden_state"], {k: v for k, v in inputs.items() if k in self._inputs}
            )
        except Exception as broken:
            raise EmbeddingUnavailable(f"the model failed: {broken}") from broken
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return unit_rows(pooled)


class HttpEmbedder:
    """An OpenAI-compatible /v1/embeddings endpoint (vLLM, TEI, Ollama, OpenAI…)."""

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 2.0,
        batch_size: int = 64,
    ) -> None:
        self.url = embeddings_endpoint(url)
        self.model = model
        self.name = f"api:{model}"
        self._api_key = api_key
        self.timeout = timeout
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return the endpoint's embedding of each text, in batches, scaled to unit length."""
        rows = [
            self._embed_batch(texts[start : start + self.batch_size])
            for start in range(0, len(texts), self.batch_size)
        ]
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        body = json.dumps({"model": self.model, "input": list(texts)}).encode()
        request = Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urlopen(request, timeout=self.timeout) as response:
                answer = json.loads(response.read())
            data = sorted(answer["data"], key=lambda item: item["index"])
            matrix = np.array([item["embedding"] for item in data], dtype=np.float32)
        except (URLError, TimeoutError, OSError, ValueError, KeyError, TypeError) as broken:
            raise EmbeddingUnavailable(f"{self.url} did not answer: {broken}") from broken
        if matrix.ndim != 2 or len(matrix) != len(texts):
            raise EmbeddingUnavailable(
                f"{self.url} answered {len(matrix)} vectors for {len(texts)}"
            )
        return unit_rows(matrix)


def embeddings_endpoint(url: str) -> str:
    """Return the /v1/embeddings address for a base URL given with or without /v1."""
    url = url.rstrip("/")
    if url.endswith("/embeddings"):
        return url
    if url.endswith("/v1"):
        return url + "/embeddings"
    return url + "/v1/embeddings"


@dataclass
class Matcher:
    """How pain points are compared: by words, and by meaning when a model is configured."""

    embedder: Embedder | None = None
    blend: Blend = Blend.BOTH
    _paused_until: float = field(default=0.0, repr=False)

    @property
    def model(self) -> str | None:
        """Return the name vectors are stored under, or None when matching by words alone."""
        return self.embedder.name if self.embedder is not None else None

    @property
    def active_blend(self) -> Blend:
        """Return what similarities are made of when the model answers."""
        return self.blend if self.embedder is not None else Blend.WORDS

    def describe(self) -> str:
        """Say in words which matcher is active."""
        if isinstance(self.embedder, OnnxEmbedder):
            return f"words and meaning: the ONNX model in {self.embedder.folder}"
        if isinstance(self.embedder, HttpEmbedder):
            return f"words and meaning: {self.embedder.model} at {self.embedder.url}"
        return "words (no model configured)"

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """Return the texts' vectors, or None when there is no model or it cannot answer now."""
        if self.embedder is None or not texts or time.monotonic() < self._paused_until:
            return None
        try:
            return self.embedder.embed(texts)
        except EmbeddingUnavailable as failure:
            self._paused_until = time.monotonic() + PAUSE_AFTER_FAILURE_SECONDS
            logger.warning("Matching pain points by words alone for now: %s", failure)
            return None
