"""Where the commands' `response_url`s point: a loopback receiver in its own process.

An answer that does not come with the acknowledgement (a lazy one, or one posted for the whole
channel) is posted to the command's `response_url`. The receiver notes when each arrived
(`time.monotonic`, the same clock in every process) and hands it to the load generator.
"""

import multiprocessing
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection

ANSWER_PATH = "/answer/"
_SPAWN = multiprocessing.get_context("spawn")


@dataclass(frozen=True)
class Answer:
    """One post to a response_url: when it arrived (monotonic seconds) and what it said."""

    at: float
    body: str


def _receive(pipe: Connection) -> None:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            arrived = time.monotonic()
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            with lock:
                pipe.send((self.path.removeprefix(ANSWER_PATH), arrived, body.decode()))

        def log_message(self, *_: object) -> None:
            """Log nothing."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with lock:
        pipe.send(server.server_address[1])
    pipe.recv()  # until told to stop
    server.shutdown()


class AnswerBook:
    """The answers received so far, by request id; lets a thread wait for one."""

    def __init__(self, port: int, pipe: Connection) -> None:
        self.port = port
        self._pipe = pipe
        self._answers: dict[str, list[Answer]] = {}
        self._arrived = threading.Condition()
        threading.Thread(target=self._collect, daemon=True).start()

    def url(self, request_id: str) -> str:
        """Return the response_url of one request."""
        return f"http://127.0.0.1:{self.port}{ANSWER_PATH}{request_id}"

    def wait(self, request_id: str, expected: str, timeout: float) -> Answer | None:
        """Return the first answer to a request that says `expected`, waiting up to `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for answer in self._answers.get(request_id, []):
                    if expected in answer.body:
                        return answer
                left = deadline - time.monotonic()
                if left <= 0 or not self._arrived.wait(left):
                    return None

    def _collect(self) -> None:
        while True:
            try:
                request_id, at, body = self._pipe.recv()
            except (EOFError, OSError):
                return
            with self._arrived:
                self._answers.setdefault(request_id, []).append(Answer(at, body))
                self._arrived.notify_all()


@contextmanager
def answer_receiver() -> Iterator[AnswerBook]:
    """Run the response_url receiver in a process of its own; yield the book of its answers."""
    parent, child = _SPAWN.Pipe()
    process = _SPAWN.Process(target=_receive, args=(child,), daemon=True)
    process.start()
    try:
        yield AnswerBook(int(parent.recv()), parent)
    finally:
        parent.send("stop")
        process.join(timeout=10)
