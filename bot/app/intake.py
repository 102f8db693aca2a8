"""Check a request to /slack/events before Bolt reads it: signed first, then well formed.

Bolt itself trips on some malformed payloads (a click without actions), so the ids and
fields every listener relies on are checked here, before Bolt builds its request.
"""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import BoltRequest
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier

from handlers.slack import request_problem

MAX_NESTING = 32  # Slack's payloads nest a dozen levels at most
MAX_TIMESTAMP_DIGITS = 12
MAX_SIGNATURE_CHARS = 128


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused, and the HTTP status that says so."""

    status: str
    reason: str


UNSIGNED = "401 Unauthorized"
MALFORMED = "400 Bad Request"


def refusal_of(verifier: SignatureVerifier, body: bytes, headers: dict[str, str]) -> Refusal | None:
    """Return why a Slack request must be refused, or None when Bolt may take it."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not timestamp.isdecimal() or len(timestamp) > MAX_TIMESTAMP_DIGITS:
        return Refusal(UNSIGNED, "missing or non-numeric timestamp")
    if not signature.isascii() or len(signature) > MAX_SIGNATURE_CHARS:
        return Refusal(UNSIGNED, "malformed signature")
    try:
        text = body.decode("utf-8")  # Slack's verifier can only check text
    except UnicodeDecodeError:
        return Refusal(MALFORMED, "body is not UTF-8")
    if not verifier.is_valid(body=text, timestamp=timestamp, signature=signature):
        return Refusal(UNSIGNED, "bad or expired signature")
    problem = payload_problem(text, headers.get("content-type", ""))
    return Refusal(MALFORMED, problem) if problem else None


def payload_problem(text: str, content_type: str) -> str:
    """Return what is wrong with a signed body, read the way Bolt reads it ('' when nothing)."""
    if not text:
        return "empty body"
    try:
        payload = _parsed(text, content_type)
    except RecursionError:
        return "payload nested too deep"
    except ValueError:
        return "payload is not JSON"
    if not isinstance(payload, dict):
        return "payload is not a JSON object"
    if not payload:
        return "empty payload"
    return _shape_problem(payload) or request_problem(payload)


def _parsed(text: str, content_type: str) -> Any:
    if content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
        return json.loads(text)
    params = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in text and "payload" in params:
        return json.loads(params["payload"])
    return params


def _shape_problem(payload: dict[str, Any]) -> str:
    """Refuse nesting beyond any Slack payload."""
    pending: list[tuple[Any, int]] = [(payload, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_NESTING:
            return "payload nested too deep"
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return ""


def read_form_as_sent(request: BoltRequest) -> None:
    """Read a form that only mentions "payload" in its text as the form it is.

    Bolt takes any form with that word in it for an interaction, finds no `payload` field and reads
    the request as empty, so `/pain payload too big for the queue` would go unanswered.
    """
    if request.body or "payload" not in request.raw_body or request.raw_body.startswith("{"):
        return
    form = dict(parse_qsl(request.raw_body, keep_blank_values=True))
    if "payload" not in form:
        request.body = form
        request.context = build_context(request.context, form)
